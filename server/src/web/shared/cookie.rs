//! The two session cookies' names and attributes (rules `reporter-anonymity` and
//! `officer-auth-and-audit`): `HttpOnly`, `SameSite=Strict`, no expiry date, and over TLS the
//! `__Host-` prefix, which browsers accept only with `Secure`, `Path=/` and no `Domain`, so no
//! other host (a sibling subdomain, a plain-HTTP page on the same name) can set or overwrite
//! the cookie ("cookie tossing" a victim into an attacker's mailbox or session).

use axum::http::{HeaderMap, HeaderValue, header};

/// One session cookie: its base name and the path it is scoped to when not `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie {
    pub base: &'static str,
    /// Without TLS (development on loopback) the `__Host-` prefix is impossible, so the
    /// cookie keeps the narrowest path that works.
    pub plain_path: &'static str,
}

impl SessionCookie {
    /// The cookie's name: `__Host-<base>` when `Secure`, `<base>` otherwise.
    pub fn name(self, secure: bool) -> String {
        if secure {
            format!("__Host-{}", self.base)
        } else {
            self.base.to_owned()
        }
    }

    fn attributes(self, secure: bool) -> String {
        if secure {
            "Path=/; HttpOnly; SameSite=Strict; Secure".to_owned()
        } else {
            format!("Path={}; HttpOnly; SameSite=Strict", self.plain_path)
        }
    }

    /// The value the browser sent under this cookie's name for this mode, if not empty. A
    /// cookie under the other name (set before a change of `SPEAKUP_PUBLIC_URL`) is ignored.
    pub fn read(self, headers: &HeaderMap, secure: bool) -> Option<String> {
        let name = self.name(secure);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(name.as_str())?.strip_prefix('='))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// `Set-Cookie` for `value`: a browser-session cookie (no `Expires`, no `Max-Age`).
    pub fn set(self, value: &str, secure: bool) -> HeaderValue {
        let s = format!("{}={value}; {}", self.name(secure), self.attributes(secure));
        // The values are base64url or hex, which are always valid header text.
        HeaderValue::from_str(&s).unwrap_or_else(|_| self.clear(secure))
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(self, secure: bool) -> HeaderValue {
        let s = format!(
            "{}=; {}; Max-Age=0",
            self.name(secure),
            self.attributes(secure)
        );
        HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("Max-Age=0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: SessionCookie = SessionCookie {
        base: "speakup_test",
        plain_path: "/officer",
    };

    #[test]
    fn secure_cookies_are_host_prefixed_and_scoped_to_the_root() {
        let set = C.set("abc", true);
        assert_eq!(
            set.to_str().unwrap(),
            "__Host-speakup_test=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        let plain = C.set("abc", false);
        assert_eq!(
            plain.to_str().unwrap(),
            "speakup_test=abc; Path=/officer; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn only_the_name_of_the_current_mode_is_read() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; speakup_test=plain; __Host-speakup_test=host"),
        );
        assert_eq!(C.read(&h, true).as_deref(), Some("host"));
        assert_eq!(C.read(&h, false).as_deref(), Some("plain"));
        let mut only_plain = HeaderMap::new();
        only_plain.insert(header::COOKIE, HeaderValue::from_static("speakup_test=x"));
        assert_eq!(C.read(&only_plain, true), None);
        let mut empty = HeaderMap::new();
        empty.insert(header::COOKIE, HeaderValue::from_static("speakup_test="));
        assert_eq!(C.read(&empty, false), None);
    }
}
