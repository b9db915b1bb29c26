//! What an Azure Blob remote is, as configured: account, container, prefix, endpoint, the
//! secret this clone keeps for it (if any), and the sizes and counts its transfers use.
//!
//! Invariant: the secret is never shown; `Debug` prints only which kind it is.

use crate::config::AzureSecret;

/// Everything needed to build the client, resolved from configuration.
#[derive(Clone, Debug)]
pub(crate) struct AzureSettings {
    pub name: String,
    pub container: String,
    pub prefix: String,
    /// The storage account (`account:` in `.gitdata.yaml`); else the environment's, else
    /// the first path segment of an emulator endpoint (`http://127.0.0.1:10000/ACCOUNT`).
    pub account: Option<String>,
    /// The blob service URL, for Azurite or a sovereign cloud; default
    /// `https://ACCOUNT.blob.core.windows.net`.
    pub endpoint: Option<String>,
    /// From `.git/config` or the user's credentials file; used before the environment's chain.
    pub secret: Option<AzureSecret>,
    pub part_size: u64,
    pub concurrency: usize,
    /// Where resumable block uploads are recorded.
    pub state_dir: std::path::PathBuf,
}

impl AzureSettings {
    /// The account name as resolved from the settings, the environment or the endpoint.
    pub(crate) fn account(&self, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        self.account
            .clone()
            .or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"))
            .or_else(|| env("AZURE_STORAGE_ACCOUNT"))
            .or_else(|| {
                let endpoint = self.endpoint.as_deref()?;
                let rest = endpoint.split_once("://")?.1;
                let path = rest.split_once('/')?.1.trim_matches('/');
                (!path.is_empty() && !path.contains('/')).then(|| path.to_string())
            })
            .filter(|a| !a.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(account: Option<&str>, endpoint: Option<&str>) -> AzureSettings {
        AzureSettings {
            name: "r".into(),
            container: "c".into(),
            prefix: String::new(),
            account: account.map(str::to_string),
            endpoint: endpoint.map(str::to_string),
            secret: None,
            part_size: 1,
            concurrency: 1,
            state_dir: std::path::PathBuf::new(),
        }
    }

    #[test]
    fn account_from_settings_environment_or_endpoint() {
        let none = |_: &str| None;
        assert_eq!(settings(Some("a"), None).account(none), Some("a".into()));
        let env = |k: &str| (k == "AZURE_STORAGE_ACCOUNT").then(|| "e".to_string());
        assert_eq!(settings(None, None).account(env), Some("e".into()));
        let azurite = settings(None, Some("http://127.0.0.1:10000/devstoreaccount1"));
        assert_eq!(azurite.account(none), Some("devstoreaccount1".into()));
        assert_eq!(settings(None, Some("https://x.blob.core.windows.net")).account(none), None);
    }
}
