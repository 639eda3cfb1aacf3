//! Property tests of the parsers that read hostile input (clear-errors): receipts, age
//! headers and lengths, the small-part check of the ciphertext forms, and the TOML
//! configuration. Whatever the input, they answer with a value or a clear error, never a
//! panic, and what they accept obeys their own rules.

use proptest::prelude::*;

use crate::config::{CommonArgs, ConfigError, FileConfig, ServeArgs, Settings};
use crate::crypto;
use crate::domain::receipt::ReceiptToken;

fn age_file(recipients: usize, plaintext: &[u8]) -> Vec<u8> {
    let keys: Vec<_> = (0..recipients)
        .map(|_| age::x25519::Identity::generate().to_public())
        .collect();
    let refs: Vec<_> = keys.iter().collect();
    crypto::encrypt(&refs, plaintext).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn receipts_parse_or_refuse(input in any::<String>()) {
        if let Ok(token) = ReceiptToken::parse(&input) {
            // What parses round-trips through its grouped form.
            let again = ReceiptToken::parse(&token.grouped()).unwrap();
            prop_assert_eq!(again.grouped().to_string(), token.grouped().to_string());
        }
    }

    #[test]
    fn receipts_survive_typing_noise(noise in "[ \\-._]{0,3}", at in 0usize..30) {
        let token = ReceiptToken::generate().unwrap();
        let mut typed: String = token.grouped().to_string();
        let at = at.min(typed.len());
        if typed.is_char_boundary(at) {
            typed.insert_str(at, &noise);
        }
        let parsed = ReceiptToken::parse(&typed.to_lowercase()).unwrap();
        prop_assert_eq!(parsed.grouped().to_string(), token.grouped().to_string());
    }

    #[test]
    fn header_checks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), n in 0usize..4) {
        let _ = crypto::check_header(&bytes, n);
        let _ = crypto::check_small(&bytes, n, 1024);
        if let Some(h) = crypto::header_len(&bytes) {
            prop_assert!(h <= bytes.len());
        }
    }

    #[test]
    fn age_header_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = b"age-encryption.org/v1\n-> X25519 ".to_vec();
        bytes.extend(tail);
        let _ = crypto::check_header(&bytes, 1);
        let _ = crypto::check_small(&bytes, 1, 1024);
    }

    #[test]
    fn plaintext_len_is_total_and_consistent(total in any::<u64>(), header in any::<usize>()) {
        if let Some(n) = crypto::plaintext_len(total, header) {
            prop_assert!(n < total);
        }
    }

    #[test]
    fn small_parts_obey_their_bound(len in 0usize..3000, junk in proptest::collection::vec(any::<u8>(), 1..64)) {
        let file = age_file(2, &vec![b'x'; len]);
        prop_assert_eq!(crypto::check_small(&file, 2, 1024), len <= 1024);
        prop_assert!(file.len() as u64 <= crypto::max_ciphertext_len(len as u64, 2));
        // A valid file with bytes after it is accepted only if the total still is a length
        // age can produce, and then only within the bound.
        let mut padded = file.clone();
        padded.extend(&junk);
        if crypto::check_small(&padded, 2, 1024) {
            let h = crypto::header_len(&padded).unwrap();
            prop_assert!(crypto::plaintext_len(padded.len() as u64, h).unwrap() <= 1024);
        }
    }

    #[test]
    fn toml_configuration_parses_or_explains(text in any::<String>()) {
        if let Ok(file) = toml::from_str::<FileConfig>(&text) {
            check_settings(file)?;
        }
    }

    #[test]
    fn numeric_settings_are_validated(
        mib in proptest::option::of(any::<u64>()),
        files in proptest::option::of(any::<usize>()),
        per_day in proptest::option::of(any::<usize>()),
        url in proptest::option::of(any::<String>()),
    ) {
        let file = FileConfig {
            max_attachment_mib: mib,
            max_attachments: files,
            max_reporter_items_per_day: per_day,
            public_url: url,
            ..FileConfig::default()
        };
        check_settings(file)?;
    }
}

/// Settings from a parsed file: accepted within the documented ranges, or an error that
/// names the setting.
fn check_settings(file: FileConfig) -> Result<(), TestCaseError> {
    match Settings::from_parts(&CommonArgs::default(), &ServeArgs::default(), file) {
        Ok(s) => {
            prop_assert!((1..=50).contains(&s.max_attachments));
            prop_assert!((1..=10_000).contains(&s.max_reporter_items_per_day));
            prop_assert!(s.max_attachment_bytes >= 1024 * 1024);
        }
        Err(ConfigError::Invalid { name, message }) => {
            prop_assert!(name.starts_with("SPEAKUP_") && !message.is_empty());
        }
        Err(e) => prop_assert!(false, "unexpected kind of error: {e}"),
    }
    Ok(())
}

#[test]
fn toml_with_wrong_types_is_a_clear_error() {
    for text in [
        "max_attachments = \"ten\"",
        "max_attachments = -1",
        "bind = \"nowhere\"",
        "[[categories]]\ncode = 7",
        "max_reporter_items_per_day = 1e99",
    ] {
        assert!(toml::from_str::<FileConfig>(text).is_err(), "{text}");
    }
}
