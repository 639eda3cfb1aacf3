//! Officer login secrets (rule `officer-auth-and-audit`): Argon2id password hashes, TOTP seeds and codes,
//! and the random tokens behind sessions and enrollment links. Only hashes of passwords and
//! tokens are stored, so a copy of the database logs nobody in; codes are compared in
//! constant time and each TOTP step is accepted once (see `Workspace::accept_totp_step`).

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    hash_with(password, &mut fresh_memory())
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    verify_with(hash, password, &mut fresh_memory())
}

/// The work memory of one Argon2id computation with the default parameters (19 MiB).
fn fresh_memory() -> Vec<Block> {
    vec![Block::default(); Params::default().block_count()]
}

fn hash_with(password: &str, memory: &mut [Block]) -> anyhow::Result<String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt =
        SaltString::encode_b64(&raw).map_err(|e| anyhow::anyhow!("salt encoding failed: {e}"))?;
    compute(&Argon2::default(), password, salt.as_salt(), memory)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Checks `password` against a PHC string, with the parameters, salt and version it names;
/// the outputs are compared in constant time (`Output`'s `==`).
fn verify_with(hash: &str, password: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let argon = (|| -> argon2::password_hash::Result<Argon2<'static>> {
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed.version.map(Version::try_from).transpose()?;
        let params = Params::try_from(&parsed)?;
        Ok(Argon2::new(algorithm, version.unwrap_or_default(), params))
    })();
    let Ok(argon) = argon else {
        return false;
    };
    // A hash made with more memory than the reusable scratch (none is today) gets its own.
    let computed = if argon.params().block_count() > memory.len() {
        let mut own = vec![Block::default(); argon.params().block_count()];
        compute(&argon, password, salt, &mut own)
    } else {
        compute(&argon, password, salt, memory)
    };
    computed.is_ok_and(|c| c.hash.as_ref() == Some(&expected))
}

/// `PasswordHasher::hash_password`, but in the caller's memory: the 19 MiB of each check is
/// reused instead of allocated and freed. Freed, glibc kept those blocks in per-thread arenas
/// and a login flood left hundreds of MiB resident (docs/performance.md, memory under attack).
fn compute<'a>(
    argon: &Argon2<'_>,
    password: &str,
    salt: Salt<'a>,
    memory: &mut [Block],
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let len = argon
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(len, |out| {
        let blocks = &mut memory[..argon.params().block_count()];
        Ok(argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, blocks)?)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// At most this many Argon2id computations run at once, each on a blocking thread, so a burst
/// of sign-ins queues here instead of starving the async workers that serve every page. Two,
/// because each holds 19 MiB (the memory bound under a login flood is twice that) and the
/// machine kind we measure on has two cores (a third only queued behind them).
pub const HASHING_PERMITS: usize = 2;

fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(HASHING_PERMITS))
}

/// The work memory of the [`HASHING_PERMITS`] computations: made once, handed to each
/// computation with its permit and taken back after, so the process never holds more than
/// `HASHING_PERMITS` × 19 MiB for hashing however many sign-ins arrive.
fn scratch() -> &'static std::sync::Mutex<Vec<Vec<Block>>> {
    static SCRATCH: std::sync::OnceLock<std::sync::Mutex<Vec<Vec<Block>>>> =
        std::sync::OnceLock::new();
    SCRATCH.get_or_init(Default::default)
}

/// Runs `work` on a blocking thread, with reusable work memory, once one of the
/// [`HASHING_PERMITS`] is free.
async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> T {
    let _permit = hashing_slots().acquire().await;
    let taken = scratch().lock().ok().and_then(|mut s| s.pop());
    let mut memory = taken.unwrap_or_else(fresh_memory);
    let done = tokio::task::spawn_blocking(move || (work(&mut memory), memory)).await;
    match done {
        Ok((v, memory)) => {
            if let Ok(mut s) = scratch().lock() {
                s.push(memory);
            }
            v
        }
        // The memory went with the panicking thread; the next computation makes new.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// [`hash_password`] off the async workers, with bounded concurrency.
pub async fn hash_password_bounded(password: &str) -> anyhow::Result<String> {
    let password = Zeroizing::new(password.to_owned());
    off_the_workers(move |m| hash_with(&password, m)).await
}

/// [`verify_password`] off the async workers, with bounded concurrency.
pub async fn verify_password_bounded(hash: &str, password: &str) -> bool {
    let (hash, password) = (hash.to_owned(), Zeroizing::new(password.to_owned()));
    off_the_workers(move |m| verify_with(&hash, &password, m)).await
}

/// [`burn_password_check`] off the async workers, with bounded concurrency.
pub async fn burn_password_check_bounded(password: &str) {
    let password = Zeroizing::new(password.to_owned());
    off_the_workers(move |m| burn_with(&password, m)).await;
}

/// Spends the same effort as a real check, so an unknown e-mail address cannot be told
/// apart from a wrong password by the response time.
pub fn burn_password_check(password: &str) {
    burn_with(password, &mut fresh_memory());
}

fn burn_with(password: &str, memory: &mut [Block]) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash =
        DUMMY.get_or_init(|| hash_with("speakup-dummy-password", memory).unwrap_or_default());
    let _ = verify_with(hash, password, memory);
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

    /// Hashes made in reused memory are the crate's own PHC strings: each side verifies the
    /// other's, and memory left dirty by an earlier check changes nothing.
    #[test]
    fn reused_memory_matches_the_crates_hashing() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = fresh_memory();
        let ours = hash_with("violet tractor harbour", &mut memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"violet tractor harbour", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"violet tractor harbour", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with(&theirs, "violet tractor harbour", &mut memory));
        assert!(!verify_with(&theirs, "violet tractor harbouR", &mut memory));
        assert!(verify_with(&theirs, "violet tractor harbour", &mut memory));
        // Other parameters than the default are honoured (and get their own memory if larger).
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(20 * 1024, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_with(&bigger, "pw", &mut memory));
        assert!(!verify_with(&bigger, "pX", &mut memory));
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
