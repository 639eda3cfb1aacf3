//! CSRF protection that needs no cookie, so the reporter gets none before the mailbox.
//! Two defences: browsers' `Sec-Fetch-Site` must not say the request came from another site,
//! and every form carries a token MACed with a server key over the form's purpose, an issue
//! time and (for the mailbox) the session it belongs to.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Long enough to write a careful report; short enough that a leaked token soon dies.
const VALID_MINUTES: i64 = 12 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Report,
    FollowUp,
    Mailbox,
    /// The officer login form (no session yet).
    Login,
    /// An enrollment form, bound to its link.
    Enroll,
    /// Every form inside an officer session, bound to that session.
    Officer,
    /// Not a form: the case page's token for fetching its items' texts, bound to the
    /// officer's session and the case, and handed out only by the audited page view.
    CaseRead,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Report => b"report",
            Purpose::FollowUp => b"follow-up",
            Purpose::Mailbox => b"mailbox",
            Purpose::Login => b"officer-login",
            Purpose::Enroll => b"officer-enroll",
            Purpose::Officer => b"officer",
            Purpose::CaseRead => b"officer-case-read",
        }
    }
}

fn mac(key: &[u8; 32], purpose: Purpose, binding: &[u8], minute: i64) -> [u8; 16] {
    let mut m = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    m.update(b"speakup/csrf/v1\0");
    m.update(purpose.label());
    m.update(b"\0");
    m.update(binding);
    m.update(b"\0");
    m.update(&minute.to_be_bytes());
    let full = m.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

pub fn issue(key: &[u8; 32], purpose: Purpose, binding: &[u8], now: OffsetDateTime) -> String {
    let minute = now.unix_timestamp() / 60;
    let mut raw = Vec::with_capacity(24);
    raw.extend_from_slice(&minute.to_be_bytes());
    raw.extend_from_slice(&mac(key, purpose, binding, minute));
    URL_SAFE_NO_PAD.encode(raw)
}

pub fn verify(
    key: &[u8; 32],
    purpose: Purpose,
    binding: &[u8],
    token: &str,
    now: OffsetDateTime,
) -> bool {
    let Ok(raw) = URL_SAFE_NO_PAD.decode(token.trim()) else {
        return false;
    };
    if raw.len() != 24 {
        return false;
    }
    let mut minute_bytes = [0u8; 8];
    minute_bytes.copy_from_slice(&raw[..8]);
    let minute = i64::from_be_bytes(minute_bytes);
    let age = now.unix_timestamp() / 60 - minute;
    if !(-1..=VALID_MINUTES).contains(&age) {
        return false;
    }
    mac(key, purpose, binding, minute).ct_eq(&raw[8..]).into()
}

/// False when the browser says the form was posted from another site: by `Sec-Fetch-Site`,
/// or, from a browser that sends no such header, by an `Origin` whose host is not the
/// request's `Host`. A request with neither (a script, an old client) is left to the token.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    match (text("sec-fetch-site"), text("origin")) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => origin_matches_host(origin, text("host")),
        (None, None) => true,
    }
}

/// `Origin: https://host[:port]` against `Host: host[:port]` (case-insensitive).
fn origin_matches_host(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    !authority.is_empty() && authority.eq_ignore_ascii_case(host.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn tokens_bind_purpose_session_and_time() {
        let key = [7u8; 32];
        let now = OffsetDateTime::now_utc();
        let t = issue(&key, Purpose::Mailbox, b"s1", now);
        assert!(verify(
            &key,
            Purpose::Mailbox,
            b"s1",
            &t,
            now + Duration::hours(2)
        ));
        assert!(!verify(&key, Purpose::Mailbox, b"s2", &t, now));
        assert!(!verify(&key, Purpose::Report, b"s1", &t, now));
        assert!(!verify(&[8u8; 32], Purpose::Mailbox, b"s1", &t, now));
        assert!(!verify(
            &key,
            Purpose::Mailbox,
            b"s1",
            &t,
            now + Duration::hours(13)
        ));
        assert!(!verify(&key, Purpose::Mailbox, b"s1", "garbage", now));
        assert!(!verify(&key, Purpose::Mailbox, b"s1", "", now));
    }

    #[test]
    fn origin_is_checked_when_fetch_metadata_is_missing() {
        let with = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            same_origin(&h)
        };
        assert!(with(&[
            ("host", "a.example:8080"),
            ("origin", "https://a.example:8080")
        ]));
        assert!(!with(&[
            ("host", "a.example"),
            ("origin", "https://evil.example")
        ]));
        assert!(!with(&[("host", "a.example"), ("origin", "null")]));
        assert!(!with(&[("origin", "https://a.example")]));
        assert!(with(&[("host", "a.example")]));
        assert!(!with(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://a.example"),
            ("host", "a.example")
        ]));
    }
}
