//! The reporter's mailbox session: a browser-session cookie (no expiry date, so it dies with
//! the browser) holding the case lookup value and the reporter's derived secret, sealed with
//! XChaCha20-Poly1305 under a server key. The server keeps no session table, so nothing
//! about the reporter's visit is stored; logout sends `Clear-Site-Data`.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::domain::receipt::{Lookup, ReporterKeys, ReporterSecret};
use crate::web::shared::cookie::SessionCookie;

/// `speakup_mailbox`, `__Host-speakup_mailbox` over TLS.
pub const COOKIE: SessionCookie = SessionCookie {
    base: "speakup_mailbox",
    plain_path: "/",
};
/// A mailbox left open this long needs the receipt again, even if the browser stays open.
const MAX_AGE_SECS: i64 = 2 * 60 * 60;

pub struct MailboxSession {
    pub keys: ReporterKeys,
    /// Random per opening; binds the mailbox forms' CSRF tokens to this session.
    pub nonce: [u8; 16],
}

impl MailboxSession {
    /// Opened in the browser path: the server got only the lookup value, so it holds no
    /// reporter secret (all zero) and the page carries ciphertext for the browser to open.
    pub fn is_sealed(&self) -> bool {
        self.keys.secret.0.iter().all(|b| *b == 0)
    }
}

/// The keys of a mailbox opened with only the lookup value.
pub fn lookup_only(lookup: [u8; 32]) -> ReporterKeys {
    ReporterKeys {
        lookup: Lookup(lookup),
        secret: ReporterSecret(Zeroizing::new([0u8; 32])),
    }
}

const PLAIN_LEN: usize = 32 + 32 + 8 + 16;

pub fn seal(
    key: &[u8; 32],
    keys: &ReporterKeys,
    now: OffsetDateTime,
) -> Result<String, getrandom::Error> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce)?;
    let mut plain = Zeroizing::new(Vec::with_capacity(PLAIN_LEN));
    plain.extend_from_slice(&keys.lookup.0);
    plain.extend_from_slice(keys.secret.0.as_ref());
    plain.extend_from_slice(&now.unix_timestamp().to_be_bytes());
    plain.extend_from_slice(&nonce);
    let mut xnonce = [0u8; 24];
    getrandom::fill(&mut xnonce)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let Ok(sealed) = cipher.encrypt(XNonce::from_slice(&xnonce), plain.as_slice()) else {
        unreachable!("encryption with a valid key cannot fail");
    };
    let mut out = xnonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

pub fn open(
    key: &[u8; 32],
    headers: &HeaderMap,
    secure: bool,
    now: OffsetDateTime,
) -> Option<MailboxSession> {
    let value = COOKIE.read(headers, secure)?;
    let raw = URL_SAFE_NO_PAD.decode(value).ok()?;
    if raw.len() < 24 {
        return None;
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(XNonce::from_slice(&raw[..24]), &raw[24..])
            .ok()?,
    );
    if plain.len() != PLAIN_LEN {
        return None;
    }
    let mut lookup = [0u8; 32];
    lookup.copy_from_slice(&plain[..32]);
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&plain[32..64]);
    let mut issued = [0u8; 8];
    issued.copy_from_slice(&plain[64..72]);
    let age = now.unix_timestamp() - i64::from_be_bytes(issued);
    if !(0..=MAX_AGE_SECS).contains(&age) {
        return None;
    }
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&plain[72..88]);
    Some(MailboxSession {
        keys: ReporterKeys {
            lookup: Lookup(lookup),
            secret: ReporterSecret(secret),
        },
        nonce,
    })
}

/// A session cookie: no Expires/Max-Age, HttpOnly, SameSite=Strict, `__Host-` and Secure
/// over TLS (web/shared/cookie.rs).
pub fn set_cookie(value: &str, secure: bool) -> HeaderValue {
    COOKIE.set(value, secure)
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    COOKIE.clear(secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::receipt::ReceiptToken;
    use axum::http::header;
    use time::Duration;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {}={cookie}", COOKIE.name(true))).unwrap(),
        );
        h
    }

    #[test]
    fn sessions_round_trip_and_expire() {
        let key = [3u8; 32];
        let keys = ReceiptToken::generate().unwrap().derive();
        let now = OffsetDateTime::now_utc();
        let c = seal(&key, &keys, now).unwrap();
        let s = open(&key, &headers(&c), true, now + Duration::minutes(5)).unwrap();
        assert_eq!(s.keys.lookup, keys.lookup);
        assert!(open(&key, &headers(&c), true, now + Duration::hours(3)).is_none());
        // Over TLS only the `__Host-` name counts.
        assert!(open(&key, &headers(&c), false, now).is_none());
        assert!(open(&[4u8; 32], &headers(&c), true, now).is_none());
        let mut tampered = c.into_bytes();
        tampered[30] ^= 1;
        assert!(
            open(
                &key,
                &headers(&String::from_utf8_lossy(&tampered)),
                true,
                now
            )
            .is_none()
        );
    }
}
