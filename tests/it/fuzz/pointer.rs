//! The pointer parser: never panics; accepts exactly the canonical encoding (what it accepts
//! re-encodes byte for byte, and every encoding parses back to its pointer); content that
//! claims to be a pointer but is broken gets an error that names what is wrong.

use super::{corpus, mutated};
use git_data::oid::Oid;
use git_data::pointer::{MAX_POINTER_SIZE, Pointer, PointerError, VERSION_LINE};
use proptest::prelude::*;

const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b" ",
    b"0",
    b"version https://git-lfs.github.com/spec/v1\n",
    b"oid sha256:",
    b"size ",
    b"18446744073709551616",
    b"ext-0-foo sha256:",
    b"\xff",
    b"\xc3\xa9",
];

/// The invariants every input must satisfy, whatever it is.
fn check(data: &[u8]) -> Result<(), TestCaseError> {
    let result = Pointer::parse(data);
    match &result {
        Ok(p) => {
            let encoded = p.encode();
            prop_assert_eq!(encoded.as_bytes(), data, "accepted input is not canonical");
            prop_assert!(Pointer::looks_like(data));
        }
        Err(e) => {
            let claims = data.starts_with(VERSION_LINE.as_bytes());
            let message = e.to_string();
            prop_assert!(!message.is_empty());
            if claims && data.len() >= MAX_POINTER_SIZE {
                prop_assert_eq!(e, &PointerError::TooLarge(data.len()));
            } else if claims {
                prop_assert!(e.is_malformed(), "{:?} claims to be a pointer: {:?}", data, e);
                // "malformed pointer: " and then the reason
                prop_assert!(message.len() > "malformed pointer: ".len() + 8, "{}", message);
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn never_panics_and_accepts_only_canonical_bytes(data in proptest::collection::vec(any::<u8>(), 0..1100)) {
        check(&data)?;
    }

    #[test]
    fn mutated_pointers(data in mutated("pointer", TOKENS)) {
        check(&data)?;
    }

    #[test]
    fn encode_then_parse_is_identity(oid in any::<[u8; 32]>(), size in any::<u64>()) {
        let p = Pointer::new(Oid::from_bytes(oid), size);
        let text = p.encode();
        prop_assert!(text.len() < MAX_POINTER_SIZE);
        prop_assert_eq!(Pointer::parse(text.as_bytes()), Ok(p));
    }

    #[test]
    fn each_kind_of_damage_is_named(oid in any::<[u8; 32]>(), size in any::<u64>(), kind in 0..9usize, at in any::<usize>()) {
        let p = Pointer::new(Oid::from_bytes(oid), size);
        let good = p.encode();
        let hex = p.oid.to_hex();
        let i = at % 64;
        let (bad, word) = match kind {
            0 => (good.replacen('\n', "\r\n", 1 + at % 3), "CR"),
            1 => (good.trim_end().to_string(), "newline"),
            2 => (good.replace(&hex, &format!("{}G{}", &hex[..i], &hex[i + 1..])), "object id"),
            3 => (good.replace(&hex, &hex[..i]), "object id"),
            4 => (good.replace("size ", "size 0"), "size"),
            5 => (good.replace("size ", "size -"), "size"),
            6 => (format!("{good}x-key {at}\n"), "extra key `x-key`"),
            7 => (format!("{VERSION_LINE}\nsize {size}\noid sha256:{hex}\n"), "expected `oid sha256:"),
            _ => (good.replace("spec/v1", "spec/v3"), "unsupported version"),
        };
        let err = Pointer::parse(bad.as_bytes()).expect_err("damaged pointer parsed");
        prop_assert!(err.is_malformed(), "{:?}: {:?}", bad, err);
        prop_assert!(err.to_string().contains(word), "{:?}: {} does not say {:?}", bad, err, word);
    }
}

#[test]
fn every_seed_gives_what_its_name_says() {
    for (name, data) in corpus("pointer") {
        let result = Pointer::parse(&data);
        let ok = match name.split('-').next().unwrap() {
            "ok" => result.is_ok(),
            "malformed" => result.as_ref().is_err_and(PointerError::is_malformed),
            "not" => result == Err(PointerError::NotAPointer),
            "too" => matches!(result, Err(PointerError::TooLarge(_))),
            other => panic!("{name}: unknown expectation {other:?}"),
        };
        assert!(ok, "{name}: {result:?}");
        check(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
