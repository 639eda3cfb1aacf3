//! The reporter's receipt token and what is derived from it. Keeps the rule that the platform
//! never stores anything that identifies the reporter: only a lookup value and the reporter's
//! public age recipient are kept; the token and the derived identity live in memory only.
//!
//! KDF: HKDF-SHA256 (RFC 5869) over the canonical token. The token carries 117 bits of
//! uniform randomness, so no password-hardening KDF is needed (an attacker with the database
//! still faces 2^117 guesses per case); HKDF is in WebCrypto, so the browser path derives
//! exactly the same values. See docs/architecture.md.

use std::fmt;

use age::secrecy::{ExposeSecret, SecretString};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// 30 symbols with no look-alikes: no 0/O, 1/I/L, and no U (avoids accidental words).
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 24 symbols of log2(30) bits each: 117.7 bits of entropy.
pub const TOKEN_LEN: usize = 24;
pub const GROUP_LEN: usize = 4;

const SALT: &[u8] = b"speakup/receipt/v1";
const INFO_LOOKUP: &[u8] = b"speakup/receipt/v1/lookup";
const INFO_IDENTITY: &[u8] = b"speakup/receipt/v1/age-identity";

/// A receipt token in canonical form (upper case, no separators). Never logged: `Debug` is
/// redacted and there is no `Display`; use [`ReceiptToken::grouped`] to show it once.
#[derive(Clone)]
pub struct ReceiptToken(Zeroizing<String>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a receipt token")]
pub struct InvalidToken;

impl ReceiptToken {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut out = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        let mut buf = Zeroizing::new([0u8; 64]);
        while out.len() < TOKEN_LEN {
            getrandom::fill(buf.as_mut())?;
            // Rejection sampling: 240 = 8 * 30, so bytes below it map uniformly.
            for &b in buf.iter().filter(|&&b| b < 240) {
                if out.len() == TOKEN_LEN {
                    break;
                }
                out.push(char::from(ALPHABET[usize::from(b % 30)]));
            }
        }
        Ok(Self(out))
    }

    /// Accepts what a person types back: any case, with spaces, dashes or dots anywhere.
    pub fn parse(input: &str) -> Result<Self, InvalidToken> {
        let mut out = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        for c in input.chars() {
            if c.is_whitespace() || c == '-' || c == '.' || c == '_' {
                continue;
            }
            let up = c.to_ascii_uppercase();
            if !up.is_ascii() || !ALPHABET.contains(&(up as u8)) || out.len() >= TOKEN_LEN {
                return Err(InvalidToken);
            }
            out.push(up);
        }
        if out.len() == TOKEN_LEN {
            Ok(Self(out))
        } else {
            Err(InvalidToken)
        }
    }

    /// Groups of four joined by dashes, for showing once and reading aloud.
    pub fn grouped(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(TOKEN_LEN + TOKEN_LEN / GROUP_LEN));
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % GROUP_LEN == 0 {
                s.push('-');
            }
            s.push(c);
        }
        s
    }

    pub fn derive(&self) -> ReporterKeys {
        let hk = Hkdf::<Sha256>::new(Some(SALT), self.0.as_bytes());
        let mut lookup = [0u8; 32];
        let mut secret = Zeroizing::new([0u8; 32]);
        // Both lengths are far below HKDF's 255*32 limit, so expand cannot fail.
        if hk.expand(INFO_LOOKUP, &mut lookup).is_err()
            || hk.expand(INFO_IDENTITY, secret.as_mut()).is_err()
        {
            unreachable!("HKDF output length is fixed and valid");
        }
        ReporterKeys {
            lookup: Lookup(lookup),
            secret: ReporterSecret(secret),
        }
    }
}

impl fmt::Debug for ReceiptToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceiptToken(<redacted>)")
    }
}

/// The value stored to find a case from its receipt. One-way: it reveals nothing of the token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Lookup(pub [u8; 32]);

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lookup(..)")
    }
}

/// The 32 secret bytes of the reporter's X25519 identity.
#[derive(Clone)]
pub struct ReporterSecret(pub Zeroizing<[u8; 32]>);

impl fmt::Debug for ReporterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterSecret(<redacted>)")
    }
}

impl ReporterSecret {
    /// The standard age identity for these bytes (`AGE-SECRET-KEY-1…`, bech32), parsed by age
    /// itself so the result is exactly what `age-keygen` would have written.
    pub fn identity(&self) -> age::x25519::Identity {
        let encoded = self.encoded();
        match encoded.expose_secret().parse::<age::x25519::Identity>() {
            Ok(id) => id,
            Err(e) => unreachable!("32 bytes always form a valid identity: {e}"),
        }
    }

    /// The identity as the text an age identity file holds.
    pub fn encoded(&self) -> SecretString {
        let hrp = bech32::Hrp::parse_unchecked("age-secret-key-");
        match bech32::encode::<bech32::Bech32>(hrp, self.0.as_ref()) {
            Ok(mut s) => {
                let upper = s.to_uppercase();
                s.zeroize();
                SecretString::from(upper)
            }
            Err(e) => unreachable!("32 bytes always fit bech32: {e}"),
        }
    }
}

/// Domain label of the lookup value's stored form (also in migrations/postgres/0003_*.sql).
pub const STORED_LOOKUP_LABEL: &[u8] = b"speakup/lookup-at-rest/v1";

/// What the database keeps to find a case: SHA-256 over a label and the lookup value.
/// Keeps database-alone-opens-nothing: `/follow-up` wants the lookup value itself, which is
/// derived from the receipt and never stored, and a 256-bit value cannot be found from its
/// hash.
pub fn stored_lookup(lookup: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(STORED_LOOKUP_LABEL);
    h.update(lookup);
    h.finalize().into()
}

#[derive(Debug, Clone)]
pub struct ReporterKeys {
    pub lookup: Lookup,
    pub secret: ReporterSecret,
}

impl ReporterKeys {
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.secret.identity().to_public()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_lookup_is_a_labelled_hash() {
        let keys = ReceiptToken::generate().unwrap().derive();
        let stored = stored_lookup(&keys.lookup.0);
        assert_ne!(stored, keys.lookup.0);
        assert_eq!(stored, stored_lookup(&keys.lookup.0));
        let mut plain = Sha256::new();
        plain.update(keys.lookup.0);
        assert_ne!(stored.as_slice(), plain.finalize().as_slice());
    }

    #[test]
    fn generated_tokens_parse_back_in_any_typing() {
        let t = ReceiptToken::generate().unwrap();
        let shown = t.grouped();
        assert_eq!(shown.len(), 29);
        let typed = format!("  {} ", shown.to_lowercase().replace('-', " "));
        let back = ReceiptToken::parse(&typed).unwrap();
        assert_eq!(back.0.as_str(), t.0.as_str());
    }

    #[test]
    fn tokens_use_only_the_alphabet_and_differ() {
        let a = ReceiptToken::generate().unwrap();
        let b = ReceiptToken::generate().unwrap();
        assert_ne!(a.0.as_str(), b.0.as_str());
        assert!(a.0.bytes().all(|c| ALPHABET.contains(&c)));
    }

    #[test]
    fn bad_tokens_are_refused() {
        for bad in [
            "",
            "ABCD",
            "0000-0000-0000-0000-0000-0000",
            &"A".repeat(25),
            "ÄBCD",
        ] {
            assert!(ReceiptToken::parse(bad).is_err(), "{bad}");
        }
    }

    /// Shared vectors: the browser's derivation (frontend/js) is tested against the same
    /// file, so both sides provably agree.
    #[test]
    fn derivation_matches_the_shared_vectors() {
        let file: serde_json::Value = serde_json::from_str(include_str!(
            "../../../frontend/js/test/fixtures/receipt-vectors.json"
        ))
        .unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(!vectors.is_empty());
        for v in vectors {
            let t = ReceiptToken::parse(v["typed"].as_str().unwrap()).unwrap();
            assert_eq!(t.0.as_str(), v["canonical"].as_str().unwrap());
            let keys = t.derive();
            let lookup: String = keys.lookup.0.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(lookup, v["lookup"].as_str().unwrap());
            assert_eq!(
                keys.recipient().to_string(),
                v["recipient"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn derivation_is_stable() {
        let t = ReceiptToken::parse("2345-6789-ABCD-EFGH-JKMN-PQRS").unwrap();
        let keys = t.derive();
        let again = t.derive();
        assert_eq!(keys.lookup, again.lookup);
        assert_eq!(keys.recipient().to_string(), again.recipient().to_string());
        assert!(
            keys.secret
                .encoded()
                .expose_secret()
                .starts_with("AGE-SECRET-KEY-1")
        );
        assert_ne!(keys.lookup.0.as_slice(), keys.secret.0.as_slice());
    }

    #[test]
    fn reporter_identity_decrypts_what_is_encrypted_to_its_recipient() {
        let keys = ReceiptToken::generate().unwrap().derive();
        let ct = age::encrypt(&keys.recipient(), b"hello").unwrap();
        let pt = age::decrypt(&keys.secret.identity(), &ct).unwrap();
        assert_eq!(pt, b"hello");
    }
}
