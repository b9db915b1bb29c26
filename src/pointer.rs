//! The pointer git stores for a tracked file: the git-lfs pointer format v1, byte for byte.
//!
//! Invariants: [`Pointer::encode`] has exactly one output per (oid, size); [`Pointer::parse`]
//! accepts exactly that output and rejects everything else with a reason, so a pointer that
//! parses re-encodes to the same bytes. The empty file is its own pointer and never parses.

use crate::oid::Oid;
use std::fmt;

/// The first line of every pointer.
pub const VERSION_LINE: &str = "version https://git-lfs.github.com/spec/v1";
/// A pointer is always smaller than this; larger content is never a pointer.
pub const MAX_POINTER_SIZE: usize = 1024;

/// A reference to a data object: its SHA-256 and its size in bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Pointer {
    pub oid: Oid,
    pub size: u64,
}

/// What is wrong with content that was expected to be a pointer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PointerError {
    #[error("not a pointer (it does not start with `{VERSION_LINE}`)")]
    NotAPointer,
    #[error("pointer is {0} bytes; a pointer is always under {MAX_POINTER_SIZE} bytes")]
    TooLarge(usize),
    #[error("malformed pointer: {0}")]
    Malformed(String),
}

impl PointerError {
    /// True when the content claims to be a pointer (it has the version line) but is broken.
    pub fn is_malformed(&self) -> bool {
        matches!(self, PointerError::Malformed(_))
    }
}

impl Pointer {
    pub fn new(oid: Oid, size: u64) -> Self {
        Pointer { oid, size }
    }

    /// The canonical pointer text.
    pub fn encode(&self) -> String {
        format!("{VERSION_LINE}\noid sha256:{}\nsize {}\n", self.oid, self.size)
    }

    /// Parses a canonical pointer strictly: the three lines `version`, `oid`, `size` in this
    /// order, LF endings, lowercase hex, a decimal size without leading zeros, nothing else.
    pub fn parse(data: &[u8]) -> Result<Pointer, PointerError> {
        if data.len() >= MAX_POINTER_SIZE {
            if data.starts_with(VERSION_LINE.as_bytes()) {
                return Err(PointerError::TooLarge(data.len()));
            }
            return Err(PointerError::NotAPointer);
        }
        if !data.starts_with(b"version ") {
            return Err(PointerError::NotAPointer);
        }
        let bad = |why: &str| PointerError::Malformed(why.to_string());
        let text = std::str::from_utf8(data).map_err(|_| bad("it is not valid UTF-8"))?;
        if text.contains('\r') {
            return Err(bad("it has CR line endings; pointers use LF only"));
        }
        let Some(body) = text.strip_suffix('\n') else {
            return Err(bad("the last line does not end with a newline"));
        };
        let lines: Vec<&str> = body.split('\n').collect();
        if lines[0] != VERSION_LINE {
            if lines[0].starts_with("version https://git-lfs.github.com/spec/") {
                return Err(bad(&format!("unsupported version line `{}`", lines[0])));
            }
            return Err(PointerError::NotAPointer);
        }
        let oid_line = lines.get(1).ok_or_else(|| bad("the `oid` line is missing"))?;
        let size_line = lines.get(2).ok_or_else(|| bad("the `size` line is missing"))?;
        if let Some(extra) = lines.get(3) {
            let key = extra.split(' ').next().unwrap_or_default();
            return Err(bad(&format!(
                "unexpected extra key `{key}`; only version, oid and size are allowed"
            )));
        }
        let hex = oid_line.strip_prefix("oid sha256:").ok_or_else(|| {
            bad(&format!("expected `oid sha256:<64 hex digits>`, found `{oid_line}`"))
        })?;
        let oid = Oid::from_hex(hex).map_err(|e| bad(&e.to_string()))?;
        let digits = size_line
            .strip_prefix("size ")
            .ok_or_else(|| bad(&format!("expected `size <bytes>`, found `{size_line}`")))?;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !canonical {
            return Err(bad(&format!("size `{digits}` is not a canonical decimal number")));
        }
        let size: u64 =
            digits.parse().map_err(|_| bad(&format!("size `{digits}` is too large")))?;
        Ok(Pointer { oid, size })
    }

    /// Whether `data` starts like a pointer (a cheap test before [`Pointer::parse`]).
    pub fn looks_like(data: &[u8]) -> bool {
        data.len() < MAX_POINTER_SIZE && data.starts_with(VERSION_LINE.as_bytes())
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.oid.short(12), self.size)
    }
}

/// What the clean filter gives git for a file, whichever way it was cleaned (git's filter,
/// `git data add`, automatic tracking): the pointer of bytes now in the cache, or the file
/// itself when it is empty or already a pointer (so cleaning twice changes nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleaned {
    Stored(Pointer),
    Kept(Vec<u8>),
}

impl Cleaned {
    /// Whether a file whose whole content is `content` passes through the clean filter as is.
    pub fn keeps(content: &[u8]) -> bool {
        content.is_empty() || Pointer::parse(content).is_ok()
    }

    /// The blob git stores.
    pub fn blob(&self) -> Vec<u8> {
        match self {
            Cleaned::Stored(p) => p.encode().into_bytes(),
            Cleaned::Kept(content) => content.clone(),
        }
    }

    /// The data put in the cache, when there is some.
    pub fn stored(&self) -> Option<Pointer> {
        match self {
            Cleaned::Stored(p) => Some(*p),
            Cleaned::Kept(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Pointer {
        Pointer::new(Oid::of_bytes(b"model weights"), 13)
    }

    #[test]
    fn encodes_git_lfs_v1_byte_for_byte() {
        let p = Pointer::new(
            Oid::from_hex("4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393")
                .unwrap(),
            12345,
        );
        assert_eq!(
            p.encode(),
            "version https://git-lfs.github.com/spec/v1\n\
             oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n\
             size 12345\n"
        );
    }

    #[test]
    fn parse_round_trips() {
        let p = sample();
        assert_eq!(Pointer::parse(p.encode().as_bytes()).unwrap(), p);
        let zero = Pointer::new(Oid::of_bytes(b""), 0);
        assert_eq!(Pointer::parse(zero.encode().as_bytes()).unwrap(), zero);
    }

    #[test]
    fn non_pointers_are_not_malformed() {
        for data in [&b""[..], b"hello", b"\x00\x01binary", b"versions of things\n"] {
            assert_eq!(Pointer::parse(data), Err(PointerError::NotAPointer), "{data:?}");
        }
        let big = vec![b'v'; 5000];
        assert_eq!(Pointer::parse(&big), Err(PointerError::NotAPointer));
    }

    #[test]
    fn rejects_every_non_canonical_form() {
        let good = sample().encode();
        let hex = sample().oid.to_hex();
        let cases = [
            good.replace('\n', "\r\n"),
            good.trim_end().to_string(),
            good.replace(&hex, &hex.to_uppercase()),
            good.replace(&hex, &hex[..60]),
            good.replace("sha256:", "sha1:"),
            good.replace("size 13", "size 013"),
            good.replace("size 13", "size +13"),
            good.replace("size 13", "size 13 "),
            good.replace("size 13", "size 99999999999999999999999"),
            format!("{good}ext-0-foo sha256:{hex}\n"),
            format!("{VERSION_LINE}\nsize 13\noid sha256:{hex}\n"),
            format!("{VERSION_LINE}\noid sha256:{hex}\n"),
            good.replace("spec/v1", "spec/v2"),
            format!("{good}\n"),
        ];
        for case in cases {
            let err = Pointer::parse(case.as_bytes()).unwrap_err();
            assert!(err.is_malformed(), "{case:?} gave {err:?}");
        }
    }

    #[test]
    fn oversized_pointer_like_content_is_reported() {
        let mut data = sample().encode().into_bytes();
        data.resize(2000, b'x');
        assert_eq!(Pointer::parse(&data), Err(PointerError::TooLarge(2000)));
    }
}
