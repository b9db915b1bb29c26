//! `.gitdata.yaml` and the settings beside it: reading never panics or hangs (alias bombs and
//! deep nesting included); whatever is accepted survives a save and a load unchanged; every
//! configuration git-data can write reads back equal; a broken file gets an error that names
//! the file, the line and the key or value at fault.

use super::{corpus, mutated};
use git_data::config::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const TOKENS: &[&[u8]] = &[
    b"\n",
    b"  ",
    b"\t",
    b": ",
    b"- ",
    b"&a ",
    b"*a",
    b"!!str ",
    b"\"",
    b"[",
    b"{",
    b"~",
    b"remotes:\n",
    b"url: ",
];

fn check(text: &str) -> Result<(), TestCaseError> {
    match FileConfig::parse(text, FILE_NAME) {
        Ok(config) => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(FILE_NAME);
            config.save(&path, &dir.path().join("tmp")).unwrap();
            prop_assert_eq!(
                FileConfig::load(&path).unwrap(),
                config,
                "accepted, then saved: {:?}",
                text
            );
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                message.starts_with(FILE_NAME) && message.len() > FILE_NAME.len() + 8,
                "{}",
                message
            );
        }
    }
    Ok(())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z]{1,8}", "[ -~]{0,12}"]
}

fn size() -> impl Strategy<Value = SizeSetting> {
    prop_oneof![
        (1..u64::MAX).prop_map(|n| n.to_string()),
        (1..10_000u64, prop_oneof![Just("KiB"), Just("MiB"), Just("GB"), Just(" MB")])
            .prop_map(|(n, u)| format!("{n}{u}")),
        Just("none".to_string()),
        Just("0".to_string()),
    ]
    .prop_map(|t| SizeSetting::parse(&t).expect("a valid size"))
}

fn remote() -> impl Strategy<Value = RemoteEntry> {
    let checksums = prop_oneof![Just(ChecksumMode::Always), Just(ChecksumMode::WhenRequired)];
    (
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(text()),
        proptest::option::of(checksums),
    )
        .prop_map(|(url, endpoint, region, path_style, profile, checksums)| RemoteEntry {
            url,
            endpoint,
            region,
            path_style,
            profile,
            checksums,
            ..Default::default()
        })
}

/// Any configuration git-data could write.
fn file_config() -> impl Strategy<Value = FileConfig> {
    let link = prop_oneof![
        Just(LinkMode::Auto),
        Just(LinkMode::Reflink),
        Just(LinkMode::Hardlink),
        Just(LinkMode::Copy)
    ];
    let checkout = (proptest::option::of(link), proptest::option::of("[0-9]{1,7}(KiB|MiB)?"))
        .prop_map(|(link, inline_max)| CheckoutSection { link, inline_max });
    let deadline = prop_oneof![
        (1..3600u64).prop_map(|n| n.to_string()),
        (1..60u64, prop_oneof![Just("s"), Just("m"), Just(" s")])
            .prop_map(|(n, u)| format!("{n}{u}")),
        (1.0..3600.0f64).prop_map(|n| n.to_string()),
    ]
    .prop_map(|text| {
        let value = git_data::config::retry::parse_deadline(&text).expect("a valid deadline");
        DurationSetting { text, value }
    });
    let transfer =
        (
            proptest::option::of(1..512usize),
            proptest::option::of(0..=git_data::config::retry::MAX_RETRIES),
            proptest::option::of("[0-9]{1,4}MiB"),
            proptest::option::of(deadline),
        )
            .prop_map(|(concurrency, retries, part_size, retry_deadline)| {
                TransferSection { concurrency, retries, part_size, retry_deadline }
            });
    let patterns = || proptest::collection::vec(text(), 0..3);
    let policy =
        (proptest::option::of(size()), patterns(), patterns(), proptest::option::of(size()))
            .prop_map(|(max_blob_size, always_track, allow, track_above)| PolicySection {
                max_blob_size,
                always_track,
                allow,
                track_above,
            });
    let remotes = proptest::collection::btree_map(text(), remote(), 0..3);
    (remotes, proptest::option::of(text()), checkout, transfer, policy).prop_map(
        |(remotes, default_remote, checkout, transfer, policy): (BTreeMap<_, _>, _, _, _, _)| {
            FileConfig { remotes, default_remote, checkout, transfer, policy }
        },
    )
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn never_panics_on_mutated_files(data in mutated("config", TOKENS)) {
        check(&String::from_utf8_lossy(&data))?;
    }

    #[test]
    fn what_git_data_writes_reads_back_equal(config in file_config()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        config.save(&path, &dir.path().join("tmp")).unwrap();
        prop_assert_eq!(FileConfig::load(&path).unwrap(), config);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line(config in file_config(), key in "[a-z][a-z-]{0,10}") {
        let fields = ["remotes", "default-remote", "checkout", "transfer", "policy"];
        prop_assume!(!fields.contains(&key.as_str()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        config.save(&path, &dir.path().join("tmp")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // YAML (1.1, libyaml) also breaks lines at NEL, LS and PS, which a value may hold
        let breaks = ['\n', '\u{85}', '\u{2028}', '\u{2029}'];
        let line = text.chars().filter(|c| breaks.contains(c)).count() + 1;
        let err = FileConfig::parse(&format!("{text}{key}: 1\n"), FILE_NAME).unwrap_err().to_string();
        let want = format!("{FILE_NAME}:{line}:1: unknown field `{key}`");
        prop_assert!(err.starts_with(&want), "{} instead of {}", err, want);
    }

    #[test]
    fn a_bad_value_is_named(word in "[a-z]{1,8}", which in 0..3usize) {
        let (text, names) = match which {
            0 => (format!("transfer:\n  concurrency: {word}\n"), "concurrency"),
            1 => (format!("checkout:\n  link: x{word}\n"), "link"),
            _ => (format!("policy:\n  max-blob-size: x{word}\n"), "invalid size"),
        };
        let err = FileConfig::parse(&text, FILE_NAME).unwrap_err().to_string();
        prop_assert!(err.starts_with(&format!("{FILE_NAME}:2:")) && err.contains(names), "{}", err);
    }

    #[test]
    fn local_settings_never_panic(values in proptest::collection::vec(proptest::option::of(text()), 13)) {
        let v = |i: usize| values[i].clone();
        let local = LocalSettings {
            cache_dir: v(0), link_mode: v(1), inline_max: v(2), concurrency: v(3),
            default_remote: v(4), progress: v(5), list_threshold: v(6),
            retries: v(7), retry_deadline: v(8), skip_smudge: v(9),
            fetch_include: v(10), fetch_exclude: v(11), prune_recent_days: v(12),
        };
        let dir = tempfile::tempdir().unwrap();
        let _ = Config::resolve(dir.path().join(FILE_NAME), dir.path().join("cache"), local);
    }
}

#[test]
fn every_seed_gives_what_its_name_says() {
    for (name, data) in corpus("config") {
        let text = String::from_utf8_lossy(&data);
        let result = FileConfig::parse(&text, FILE_NAME);
        match name.split('-').next().unwrap() {
            "ok" => assert!(result.is_ok(), "{name}: {result:?}"),
            "bad" => assert!(result.is_err(), "{name}: {result:?}"),
            "any" => {}
            other => panic!("{name}: unknown expectation {other:?}"),
        }
        check(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn a_remote_defined_twice_is_refused() {
    let text = "remotes:\n  s:\n    url: /x\n  s:\n    url: /y\n";
    let err =
        FileConfig::parse(text, FILE_NAME).expect_err("the second `s` silently replaces the first");
    let err = err.to_string();
    assert!(
        err.starts_with(".gitdata.yaml:") && err.contains("remote `s` is defined twice"),
        "{err}"
    );
}
