//! The Git LFS Batch API's messages (`POST {endpoint}/objects/batch`, media type
//! `application/vnd.git-lfs+json`): the request for an operation on objects, and what the
//! server answers for each object: actions to take (upload, verify, download: an href, the
//! headers to send, an expiry), nothing (an upload the server needs not), or an error.
//!
//! Invariant: oids are our SHA-256 oids (the Batch API's default `hash_algo`); an answer is
//! matched to our objects by oid, never by position, and an object the server left out is an
//! error, not a success.

use crate::oid::Oid;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The Batch API's media type, for `Accept` and `Content-Type`.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

/// The most objects in one batch request (git-lfs sends at most 100 too).
pub(crate) const MAX_OBJECTS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Operation {
    Upload,
    Download,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Upload => "upload",
            Operation::Download => "download",
        }
    }
}

#[derive(Serialize)]
struct Request<'a> {
    operation: &'a str,
    transfers: [&'a str; 1],
    objects: Vec<Spec>,
    hash_algo: &'a str,
}

#[derive(Serialize)]
struct Spec {
    oid: String,
    size: u64,
}

/// The JSON body of a batch request.
pub(crate) fn request(op: Operation, objects: &[(Oid, u64)]) -> Vec<u8> {
    let objects = objects.iter().map(|(o, s)| Spec { oid: o.to_hex(), size: *s }).collect();
    let req =
        Request { operation: op.as_str(), transfers: ["basic"], objects, hash_algo: "sha256" };
    serde_json::to_vec(&req).unwrap_or_default()
}

#[derive(Deserialize)]
pub(crate) struct Response {
    #[serde(default)]
    pub transfer: Option<String>,
    #[serde(default)]
    pub objects: Vec<Object>,
    /// When the answer arrived: actions expire counting from then.
    #[serde(skip)]
    pub received: Option<Instant>,
}

#[derive(Deserialize)]
pub(crate) struct Object {
    pub oid: String,
    #[serde(default)]
    pub size: Option<u64>,
    /// The server says its hrefs need no credentials of ours.
    #[serde(default)]
    pub authenticated: Option<bool>,
    #[serde(default)]
    pub actions: Actions,
    #[serde(default)]
    pub error: Option<ObjectError>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Actions {
    pub upload: Option<Action>,
    pub verify: Option<Action>,
    pub download: Option<Action>,
}

/// One step of a transfer: where to send it and with which headers.
#[derive(Deserialize, Clone)]
pub(crate) struct Action {
    pub href: String,
    #[serde(default)]
    pub header: HashMap<String, String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl Action {
    /// Whether the action has expired (`expires_in` counts from `received`, and wins over
    /// `expires_at`; 0 or neither means no expiry).
    pub(crate) fn expired(&self, received: Option<Instant>) -> bool {
        match (self.expires_in, &self.expires_at) {
            (Some(secs), _) if secs != 0 => {
                let since = received.map_or(Duration::ZERO, |r| r.elapsed());
                secs < 0 || since >= Duration::from_secs(secs as u64)
            }
            (_, Some(at)) => super::ssh::until(at) == Some(Duration::ZERO),
            _ => false,
        }
    }
}

#[derive(Deserialize, Clone, Debug)]
pub(crate) struct ObjectError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

/// An error response body (`{"message": …}`), for the message of a failed request.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
}

/// The server's message in an error body, if it sent one (never more than a line).
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let msg = serde_json::from_slice::<ErrorBody>(body).ok()?.message?;
    let line = msg.lines().next().unwrap_or("").trim();
    Some(line.chars().take(300).collect())
}

impl Response {
    /// The answer for each object of `asked`, in its order; `None` where the server said
    /// nothing about it.
    pub(crate) fn for_each(mut self, asked: &[(Oid, u64)]) -> Vec<Option<Object>> {
        let mut by_oid: HashMap<String, Object> = HashMap::new();
        for o in self.objects.drain(..) {
            by_oid.entry(o.oid.to_ascii_lowercase()).or_insert(o);
        }
        asked.iter().map(|(oid, _)| by_oid.remove(&oid.to_hex())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_match_by_oid() {
        let a = Oid::of_bytes(b"a");
        let b = Oid::of_bytes(b"b");
        let body = String::from_utf8(request(Operation::Download, &[(a, 1)])).unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"operation":"download","transfers":["basic"],"objects":[{{"oid":"{}","size":1}}],"hash_algo":"sha256"}}"#,
                a.to_hex()
            )
        );
        let reply = format!(
            r#"{{"objects":[{{"oid":"{}","size":1,"error":{{"code":404,"message":"gone"}}}},
               {{"oid":"{}","size":1,"actions":{{"download":{{"href":"http://h/x","header":{{"k":"v"}},"expires_in":60}}}}}}]}}"#,
            b.to_hex(),
            a.to_hex()
        );
        let resp: Response = serde_json::from_str(&reply).unwrap();
        let c = Oid::of_bytes(b"c");
        let got = resp.for_each(&[(a, 1), (b, 1), (c, 1)]);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.actions.download.as_ref().unwrap().header["k"], "v");
        assert_eq!(got[1].as_ref().unwrap().error.as_ref().unwrap().code, 404);
        assert!(got[2].is_none());
        let mut action = first.actions.download.clone().unwrap();
        assert!(!action.expired(Some(Instant::now())));
        action.expires_in = Some(-1);
        assert!(action.expired(None));
        action.expires_in = None;
        action.expires_at = Some("2001-01-01T00:00:00Z".into());
        assert!(action.expired(None));
        assert_eq!(
            error_message(br#"{"message":"bad token\nmore"}"#).as_deref(),
            Some("bad token")
        );
        assert_eq!(error_message(b"<html>"), None);
    }
}
