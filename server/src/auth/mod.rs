//! Officer login secrets (rule `officer-auth-and-audit`): Argon2id password hashes, TOTP seeds and codes,
//! and the random tokens behind sessions and enrollment links. Only hashes of passwords and
//! tokens are stored, so a copy of the database logs nobody in; codes are compared in
//! constant time and each TOTP step is accepted once (see `Workspace::accept_totp_step`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A password or passphrase from a form, wiped when dropped.
#[derive(Default, serde::Deserialize)]
#[serde(transparent)]
pub struct FormSecret(pub String);

impl Drop for FormSecret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::ops::Deref for FormSecret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// RFC 6238 defaults, which every authenticator app supports.
pub const TOTP_STEP_SECS: u64 = 30;
const TOTP_DIGITS: u8 = 6;
const TOTP_SEED_BYTES: usize = 20;

const COMMON: &str = include_str!("common_passwords.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
    ContainsEmail,
}

impl PasswordProblem {
    /// The catalog key of the message shown to the officer.
    pub fn key(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "enroll.error.password_short",
            PasswordProblem::TooLong => "enroll.error.password_long",
            PasswordProblem::Common => "enroll.error.password_common",
            PasswordProblem::ContainsEmail => "enroll.error.password_email",
        }
    }
}

/// Length first (NIST SP 800-63B), then the list of passwords every attacker tries first,
/// ignoring case and the digits and symbols people add at the ends.
pub fn check_password(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    let single_char = lower.chars().all(|c| lower.starts_with(c));
    let listed = COMMON
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .any(|l| l == lower || l == core);
    if listed || single_char {
        return Err(PasswordProblem::Common);
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.chars().count() >= 4 && lower.contains(&local) {
        return Err(PasswordProblem::ContainsEmail);
    }
    Ok(())
}

/// Argon2id with the crate's defaults (OWASP's recommended minimum: 19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt =
        SaltString::encode_b64(&raw).map_err(|e| anyhow::anyhow!("salt encoding failed: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// At most this many Argon2id computations run at once, each on a blocking thread, so a burst
/// of sign-ins queues here instead of starving the async workers that serve every page.
pub const HASHING_PERMITS: usize = 3;

fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(HASHING_PERMITS))
}

/// Runs `work` on a blocking thread once one of the [`HASHING_PERMITS`] is free.
async fn off_the_workers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let _permit = hashing_slots().acquire().await;
    match tokio::task::spawn_blocking(work).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// [`hash_password`] off the async workers, with bounded concurrency.
pub async fn hash_password_bounded(password: &str) -> anyhow::Result<String> {
    let password = Zeroizing::new(password.to_owned());
    off_the_workers(move || hash_password(&password)).await
}

/// [`verify_password`] off the async workers, with bounded concurrency.
pub async fn verify_password_bounded(hash: &str, password: &str) -> bool {
    let (hash, password) = (hash.to_owned(), Zeroizing::new(password.to_owned()));
    off_the_workers(move || verify_password(&hash, &password)).await
}

/// [`burn_password_check`] off the async workers, with bounded concurrency.
pub async fn burn_password_check_bounded(password: &str) {
    let password = Zeroizing::new(password.to_owned());
    off_the_workers(move || burn_password_check(&password)).await;
}

/// Spends the same effort as a real check, so an unknown e-mail address cannot be told
/// apart from a wrong password by the response time.
pub fn burn_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("speakup-dummy-password").unwrap_or_default());
    let _ = verify_password(hash, password);
}

pub fn new_totp_seed() -> Result<Zeroizing<Vec<u8>>, getrandom::Error> {
    let mut seed = Zeroizing::new(vec![0u8; TOTP_SEED_BYTES]);
    getrandom::fill(&mut seed)?;
    Ok(seed)
}

fn totp(seed: &[u8]) -> Option<totp_rs::Totp> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(TOTP_DIGITS)
        .with_skew(1)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(seed.to_vec())
        .build()
        .ok()
}

/// The time step a code belongs to (one step of clock drift either way), or `None`.
pub fn check_code(seed: &[u8], code: &str, unix_time: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(TOTP_DIGITS) || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = totp(seed)?;
    let now = u64::try_from(unix_time).ok()?;
    let origin = now / TOTP_STEP_SECS;
    (origin.saturating_sub(1)..=origin + 1)
        .find(|step| {
            let expected = t.generate(step * TOTP_STEP_SECS).to_string();
            bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
        })
        .and_then(|s| i64::try_from(s).ok())
}

/// The code for a moment (tests and the CLI's self-check compute codes like an app would).
pub fn code_at(seed: &[u8], unix_time: i64) -> Option<String> {
    let t = totp(seed)?;
    Some(t.generate(u64::try_from(unix_time).ok()?).to_string())
}

pub fn seed_base32(seed: &[u8]) -> String {
    totp_rs::Secret::from(seed.to_vec()).to_base32()
}

/// The `otpauth://` URI authenticator apps read from the QR code.
pub fn otpauth_uri(seed: &[u8], issuer: &str, account: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
        enc(issuer),
        enc(account),
        seed_base32(seed),
        enc(issuer)
    )
}

/// The QR code as inline SVG (no image request, nothing to leak through a cache).
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

/// A random token for a cookie or a link, and the hash under which the store keeps it.
pub fn new_token() -> Result<(String, [u8; 32]), getrandom::Error> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw)?;
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_token(&token);
    Ok((token, hash))
}

pub fn hash_token(token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"speakup/token/v1\0");
    h.update(token.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert_eq!(
            check_password("short", "a@b.org"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_password("Password123!", "a@b.org"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_password("!!qwertyuiop123", "a@b.org"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_password("zzzzzzzzzzzzzz", "a@b.org"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_password("marie.dupont-was-here", "marie.dupont@b.org"),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(
            check_password("violet tractor harbour 42", "a@b.org"),
            Ok(())
        );
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("violet tractor harbour").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "violet tractor harbour"));
        assert!(!verify_password(&h, "violet tractor harbouR"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn totp_codes_match_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, truncated to six digits.
        let seed = b"12345678901234567890";
        assert_eq!(code_at(seed, 59).unwrap(), "287082");
        assert_eq!(code_at(seed, 1_111_111_109).unwrap(), "081804");
        assert_eq!(check_code(seed, "081804", 1_111_111_109), Some(37_037_036));
        assert_eq!(check_code(seed, "081 804", 1_111_111_139), Some(37_037_036));
        assert_eq!(check_code(seed, "081804", 1_111_111_209), None);
        assert_eq!(check_code(seed, "08180", 1_111_111_109), None);
        assert!(otpauth_uri(seed, "ACME Speak Up", "a@b.org").starts_with(
            "otpauth://totp/ACME%20Speak%20Up:a@b.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
        ));
        assert!(qr_svg("otpauth://totp/x").unwrap().contains("<svg"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), ha);
    }
}
