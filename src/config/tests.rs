//! Reading and resolving the configuration.

use super::*;

#[test]
fn parses_full_file() {
    let text = "remotes:\n  storage:\n    url: /mnt/team\n  ovh:\n    url: s3://b/p\n    endpoint: https://s3.gra.io.cloud.ovh.net\n    region: gra\n    path-style: true\ndefault-remote: ovh\ncheckout:\n  link: hardlink\n  inline-max: 2MiB\ntransfer:\n  concurrency: 16\n";
    let c = FileConfig::parse(text, FILE_NAME).unwrap();
    assert_eq!(c.remotes["storage"].url, "/mnt/team");
    assert_eq!(c.remotes["ovh"].region.as_deref(), Some("gra"));
    assert_eq!(c.remotes["ovh"].path_style, Some(true));
    assert_eq!(c.default_remote.as_deref(), Some("ovh"));
    assert_eq!(c.checkout.link, Some(LinkMode::Hardlink));
    assert_eq!(c.transfer.concurrency, Some(16));
}

#[test]
fn syntax_error_has_line_and_column() {
    let err =
        FileConfig::parse("remotes:\n  storage:\n    url: [unclosed\n", FILE_NAME).unwrap_err();
    match err {
        ConfigError::Syntax { line, column, .. } => {
            assert!(line >= 3 && column > 0, "{line}:{column}")
        }
        other => panic!("{other:?}"),
    }
    let err = FileConfig::parse("remote:\n  x: 1\n", FILE_NAME).unwrap_err().to_string();
    assert!(err.starts_with(".gitdata.yaml:1:1: unknown field `remote`"), "{err}");
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut c = FileConfig::default();
    c.remotes.insert("storage".into(), RemoteEntry { url: "/mnt/x".into(), ..Default::default() });
    c.default_remote = Some("storage".into());
    c.save(&path, &dir.path().join("tmp")).unwrap();
    assert_eq!(FileConfig::load(&path).unwrap(), c);
    FileConfig::default().save(&path, &dir.path().join("tmp")).unwrap();
    assert_eq!(FileConfig::load(&path).unwrap(), FileConfig::default());
}

#[test]
fn precedence_env_over_git_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, "checkout:\n  link: copy\n  inline-max: 4KiB\n").unwrap();
    let c = Config::resolve(path.clone(), "/c".into(), LocalSettings::default()).unwrap();
    assert_eq!((c.link_mode, c.inline_max), (LinkMode::Copy, 4096));
    let local = LocalSettings { link_mode: Some("hardlink".into()), ..Default::default() };
    let c = Config::resolve(path.clone(), "/c".into(), local.clone()).unwrap();
    assert_eq!(c.link_mode, LinkMode::Hardlink);
    let env = |k: &str| (k == "GIT_DATA_LINK_MODE").then(|| "reflink".to_string());
    let c = Config::resolve(path.clone(), "/c".into(), local.with_env(env)).unwrap();
    assert_eq!(c.link_mode, LinkMode::Reflink);
    let bad = LocalSettings { link_mode: Some("symlink".into()), ..Default::default() };
    assert!(Config::resolve(path, "/c".into(), bad).is_err());
}

#[test]
fn policy_section() {
    let text = "policy:\n  max-blob-size: 10MiB\n  always-track: [\"*.pkl\"]\n  allow: [docs/logo.png]\n  track-above: 1048576\n";
    let c = FileConfig::parse(text, FILE_NAME).unwrap();
    assert_eq!(c.policy.max_blob_size.as_ref().and_then(|s| s.bytes), Some(10 << 20));
    assert_eq!(c.policy.track_above.as_ref().and_then(|s| s.bytes), Some(1 << 20));
    assert_eq!(c.policy.always_track, vec!["*.pkl"]);
    let off = FileConfig::parse("policy:\n  max-blob-size: none\n", FILE_NAME).unwrap();
    assert_eq!(off.policy.max_blob_size.unwrap().bytes, None);
    let zero = FileConfig::parse("policy:\n  max-blob-size: 0\n", FILE_NAME).unwrap();
    assert_eq!(zero.policy.max_blob_size.unwrap().bytes, None);
    let err = FileConfig::parse("policy:\n  max-blob-size: lots\n", FILE_NAME).unwrap_err();
    let err = err.to_string();
    assert!(err.starts_with(".gitdata.yaml:2:") && err.contains("invalid size `lots`"), "{err}");
    let err = FileConfig::parse("policy:\n  max-size: 1\n", FILE_NAME).unwrap_err();
    assert!(err.to_string().contains("unknown field `max-size`"), "{err}");
    // saving keeps the spelling
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    c.save(&path, &dir.path().join("tmp")).unwrap();
    assert_eq!(FileConfig::load(&path).unwrap(), c);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("max-blob-size: 10MiB") && saved.contains("track-above: 1048576"));
}

#[test]
fn sizes() {
    assert_eq!(parse_size("1048576"), Some(1 << 20));
    assert_eq!(parse_size("1MiB"), Some(1 << 20));
    assert_eq!(parse_size("5 MB"), Some(5_000_000));
    assert_eq!(parse_size("lots"), None);
}
