//! age encryption for cases. Owns the rule that plaintext is encrypted in memory before
//! anything is written: callers hand plaintext in and get ciphertext (or ciphertext chunks
//! ready for the store) out; no function here touches disk, logs or the database.
//!
//! Every case has its own X25519 key pair. Items are encrypted to the case recipient (plus
//! the reporter's recipient for what the reporter may read); the case identity is sealed to
//! each holder. Granting access later seals the identity once more; content is never
//! re-encrypted. Details in docs/architecture.md.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};

use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};
use zeroize::Zeroizing;

/// Size of the ciphertext chunks the store keeps. Big enough that a 200 MiB attachment is
/// a few hundred rows, small enough that streaming holds little in memory.
pub const CHUNK_SIZE: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("no recipients to encrypt to")]
    NoRecipients,
    #[error("age encryption failed: {0}")]
    Encrypt(String),
    #[error("age decryption failed: {0}")]
    Decrypt(String),
    #[error("i/o during encryption: {0}")]
    Io(#[from] io::Error),
}

/// A fresh per-case key pair. The identity exists in server memory only while a case is
/// being created; afterwards only sealed envelopes of it exist.
pub struct CaseKey(Identity);

impl CaseKey {
    pub fn generate() -> Self {
        Self(Identity::generate())
    }

    pub fn recipient(&self) -> Recipient {
        self.0.to_public()
    }

    /// The envelope for one holder: the identity in the standard identity-file format,
    /// age-encrypted to the holder, so that `age -d -i holder.key env.age > case.key`
    /// yields a file `age -d -i case.key` accepts.
    pub fn seal_to(&self, holder: &Recipient) -> Result<Vec<u8>, CryptoError> {
        let mut text = Zeroizing::new(String::new());
        text.push_str("# Speak Up case key\n");
        text.push_str(self.0.to_string().expose_secret());
        text.push('\n');
        encrypt(&[holder], text.as_bytes())
    }
}

/// Checks that bytes a browser sent begin like an age file encrypted to exactly
/// `x25519` X25519 recipients and no passphrase, so a broken or hostile client cannot store
/// something the intended readers cannot open. (Which keys the stanzas are for cannot be
/// seen without the keys; the count and the format can.) Needs only the header's bytes.
pub fn check_header(prefix: &[u8], x25519: usize) -> bool {
    let Some(rest) = prefix.strip_prefix(b"age-encryption.org/v1\n") else {
        return false;
    };
    let mut found = 0;
    for line in rest.split(|b| *b == b'\n') {
        if line.starts_with(b"--- ") {
            return found == x25519 && age::Decryptor::new(prefix).is_ok_and(|d| !d.is_scrypt());
        }
        if let Some(stanza) = line.strip_prefix(b"-> ") {
            if stanza.starts_with(b"X25519 ") {
                found += 1;
            } else if stanza.starts_with(b"scrypt ") {
                return false;
            }
        }
    }
    false
}

fn encryptor(recipients: &[&Recipient]) -> Result<age::Encryptor, CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    age::Encryptor::with_recipients(recipients.iter().map(|r| *r as &dyn age::Recipient))
        .map_err(|e| CryptoError::Encrypt(e.to_string()))
}

pub fn encrypt(recipients: &[&Recipient], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut w = encryptor(recipients)?.wrap_output(&mut out)?;
    w.write_all(plaintext)?;
    w.finish()?;
    Ok(out)
}

pub fn decrypt(
    identity: &dyn age::Identity,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let d = age::Decryptor::new(ciphertext).map_err(|e| CryptoError::Decrypt(e.to_string()))?;
    let mut r = d
        .decrypt(std::iter::once(identity))
        .map_err(|e| CryptoError::Decrypt(e.to_string()))?;
    let mut out = Zeroizing::new(Vec::new());
    r.read_to_end(&mut out)?;
    Ok(out)
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encrypts a stream of unknown length (an upload) into store-sized ciphertext chunks, so
/// no more than about two chunks of an attachment are ever in memory.
pub struct StreamEncryptor {
    writer: age::stream::StreamWriter<SharedBuf>,
    buf: SharedBuf,
    plaintext_len: u64,
}

impl StreamEncryptor {
    pub fn new(recipients: &[&Recipient]) -> Result<Self, CryptoError> {
        let buf = SharedBuf::default();
        let writer = encryptor(recipients)?.wrap_output(buf.clone())?;
        Ok(Self {
            writer,
            buf,
            plaintext_len: 0,
        })
    }

    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), CryptoError> {
        self.writer.write_all(plaintext)?;
        self.plaintext_len += plaintext.len() as u64;
        Ok(())
    }

    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Ciphertext chunks that are complete and can be stored now.
    pub fn full_chunks(&mut self) -> Vec<Vec<u8>> {
        let mut buf = self.buf.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut chunks = Vec::new();
        while buf.len() >= CHUNK_SIZE {
            let rest = buf.split_off(CHUNK_SIZE);
            chunks.push(std::mem::replace(&mut *buf, rest));
        }
        chunks
    }

    /// Ends the age stream; returns the remaining chunks (the last one may be short).
    pub fn finish(self) -> Result<Vec<Vec<u8>>, CryptoError> {
        let Self { writer, buf, .. } = self;
        writer.finish()?;
        let mut all = std::mem::take(&mut *buf.0.lock().unwrap_or_else(PoisonError::into_inner));
        let mut chunks = Vec::new();
        while all.len() > CHUNK_SIZE {
            let rest = all.split_off(CHUNK_SIZE);
            chunks.push(std::mem::replace(&mut all, rest));
        }
        if !all.is_empty() {
            chunks.push(all);
        }
        Ok(chunks)
    }
}

/// The length of an age header (through the `--- MAC` line), from bytes that hold all of it.
pub fn header_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for line in bytes.split(|b| *b == b'\n') {
        let end = at + line.len() + 1;
        if line.starts_with(b"--- ") {
            return (end <= bytes.len()).then_some(end);
        }
        at = end;
    }
    None
}

/// Checks a whole small age file (a message, a file name, an envelope) held in memory: the
/// header as [`check_header`] does, a payload length age can produce (so nothing is appended
/// after a valid header), and a plaintext of at most `max_plaintext` bytes.
pub fn check_small(bytes: &[u8], x25519: usize, max_plaintext: u64) -> bool {
    check_header(bytes, x25519)
        && header_len(bytes)
            .and_then(|h| plaintext_len(bytes.len() as u64, h))
            .is_some_and(|n| n <= max_plaintext)
}

/// The longest age file a plaintext of `max_plaintext` bytes to `x25519` recipients can be:
/// what a reader may accept before [`check_small`] judges it.
pub fn max_ciphertext_len(max_plaintext: u64, x25519: usize) -> u64 {
    const HEADER_BASE: u64 = 512;
    const PER_STANZA: u64 = 128;
    const CHUNK: u64 = 64 * 1024;
    let chunks = max_plaintext.div_ceil(CHUNK).max(1);
    HEADER_BASE + PER_STANZA * x25519 as u64 + 16 + max_plaintext + 16 * chunks
}

/// age's payload: a 16-byte nonce, then 64 KiB chunks each with a 16-byte tag; only the last
/// may be shorter, and only a lone last chunk may be empty. `None` for an impossible length.
pub fn plaintext_len(total: u64, header: usize) -> Option<u64> {
    const NONCE: u64 = 16;
    const TAG: u64 = 16;
    const CHUNK: u64 = 64 * 1024;
    let sealed = total
        .checked_sub(u64::try_from(header).ok()?)?
        .checked_sub(NONCE)?;
    let chunks = sealed.div_ceil(CHUNK + TAG).max(1);
    let last = sealed - (chunks - 1) * (CHUNK + TAG);
    if last < TAG || (last == TAG && chunks > 1) {
        return None;
    }
    Some(sealed - chunks * TAG)
}

#[cfg(test)]
mod tests {
    #[test]
    fn headers_are_checked_for_format_and_recipient_count() {
        let a = age::x25519::Identity::generate().to_public();
        let b = age::x25519::Identity::generate().to_public();
        let two = super::encrypt(&[&a, &b], b"hello").unwrap();
        assert!(super::check_header(&two, 2));
        assert!(!super::check_header(&two, 1));
        assert!(!super::check_header(b"hello", 1));
        assert!(!super::check_header(&two[..20], 2));
        let mut broken = two.clone();
        broken[0] = b'x';
        assert!(!super::check_header(&broken, 2));
    }

    use super::*;

    #[test]
    fn sealed_case_key_opens_items() {
        let officer = Identity::generate();
        let case = CaseKey::generate();
        let item = encrypt(&[&case.recipient()], b"report").unwrap();
        let env = case.seal_to(&officer.to_public()).unwrap();
        let key_text = decrypt(&officer, &env).unwrap();
        let ids = age::IdentityFile::from_buffer(&key_text[..])
            .unwrap()
            .into_identities()
            .unwrap();
        let pt = decrypt(ids[0].as_ref(), &item).unwrap();
        assert_eq!(&pt[..], b"report");
    }

    #[test]
    fn streamed_chunks_form_one_age_file() {
        let id = Identity::generate();
        let mut enc = StreamEncryptor::new(&[&id.to_public()]).unwrap();
        let block = vec![7u8; 300 * 1024];
        let mut chunks = Vec::new();
        for _ in 0..5 {
            enc.write(&block).unwrap();
            chunks.extend(enc.full_chunks());
        }
        assert!(chunks.iter().all(|c| c.len() == CHUNK_SIZE));
        assert_eq!(enc.plaintext_len(), 5 * 300 * 1024);
        chunks.extend(enc.finish().unwrap());
        let joined: Vec<u8> = chunks.concat();
        let pt = decrypt(&id, &joined).unwrap();
        assert_eq!(pt.len(), 5 * 300 * 1024);
    }

    #[test]
    fn encrypting_to_nobody_is_refused() {
        assert!(matches!(encrypt(&[], b"x"), Err(CryptoError::NoRecipients)));
    }

    #[test]
    fn plaintext_sizes_follow_from_age_file_lengths() {
        let recipient = Identity::generate().to_public();
        for n in [0usize, 1, 17, 65_535, 65_536, 65_537, 2 * 65_536, 200_000] {
            let file = encrypt(&[&recipient], &vec![7u8; n]).expect("encrypt");
            let header = header_len(&file).expect("header");
            assert_eq!(
                plaintext_len(file.len() as u64, header),
                Some(n as u64),
                "{n} bytes"
            );
        }
        assert_eq!(plaintext_len(10, 20), None);
        assert_eq!(plaintext_len(100 + 16 + 15, 100), None);
        assert_eq!(plaintext_len(100 + 16 + 65_552 + 16, 100), None);
        assert_eq!(header_len(b"age-encryption.org/v1\n-> X25519 abc\n"), None);
    }
}
