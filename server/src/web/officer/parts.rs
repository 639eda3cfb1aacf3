//! Reading the multipart forms the officers' browser sends: named controls (CSRF token
//! first), then ciphertext parts, each checked to be an age file to the expected number of
//! recipients. Attachments stream into incomplete blobs that only join the case when the
//! whole request succeeds; on any refusal they are discarded, so nothing half-sent stays.

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use axum::http::HeaderMap;

use super::session::Officer;
use crate::crypto::{self, CHUNK_SIZE};
use crate::web::SharedState;
use crate::web::error::{AppError, ErrorKind};

/// Messages and reasons are at most 20,000 characters of text; their ciphertext is a little
/// larger. Envelopes and file names are far smaller.
const MAX_SMALL_PART: usize = 256 * 1024;
const MAX_TEXT_FIELD: usize = 4 * 1024;
/// age adds 16 bytes per 64 KiB plus a header: this is generous.
const AGE_OVERHEAD: u64 = 1024 * 1024;

pub struct Uploaded {
    pub blob_id: String,
    /// The plaintext's size, which an age file's length gives away exactly (the mailbox
    /// serves the decrypted file with this as its length).
    pub size: u64,
    pub name: Vec<u8>,
}

#[derive(Default)]
pub struct CipherForm {
    pub fields: Vec<(String, String)>,
    pub message: Option<Vec<u8>>,
    pub reason: Option<Vec<u8>>,
    /// The reporter's browser path: the report and identity items.
    pub report: Option<Vec<u8>>,
    pub identity: Option<Vec<u8>>,
    /// Sealed copies of a case key, each with the `holder` field sent just before it.
    pub envelopes: Vec<(String, Vec<u8>)>,
    pub files: Vec<Uploaded>,
}

impl CipherForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The message (if any) as an item of `kind`, and each file as an attachment to it (or
    /// standing alone when there is no message), all by `author` and dated `today`.
    pub fn items(
        &self,
        author: &crate::domain::case::Author,
        kind: crate::domain::case::ItemKind,
        visible: bool,
        today: time::Date,
    ) -> Vec<crate::store::NewItem> {
        use crate::domain::case::ItemKind;
        use crate::store::{Content, NewItem};
        let author = author.to_db();
        let new_id = || uuid::Uuid::new_v4().to_string();
        let mut out = Vec::new();
        let parent = self.message.as_ref().map(|m| {
            let id = new_id();
            out.push(NewItem {
                id: id.clone(),
                kind: kind.as_str().into(),
                author: author.clone(),
                created_on: today,
                reporter_visible: visible,
                parent_id: None,
                content: Content::Inline(m.clone()),
                encrypted_name: None,
            });
            id
        });
        for f in &self.files {
            out.push(NewItem {
                id: new_id(),
                kind: ItemKind::Attachment.as_str().into(),
                author: author.clone(),
                created_on: today,
                reporter_visible: visible,
                parent_id: parent.clone(),
                content: Content::Blob {
                    id: f.blob_id.clone(),
                    plaintext_size: i64::try_from(f.size).unwrap_or(i64::MAX),
                },
                encrypted_name: Some(f.name.clone()),
            });
        }
        out
    }

    pub async fn discard(&self, state: &SharedState) {
        for f in &self.files {
            if let Err(e) = state.store.discard_blob(&f.blob_id).await {
                tracing::warn!(error = %e, "could not discard a refused upload");
            }
        }
    }
}

async fn small(mut field: Field<'_>, max: usize) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| ErrorKind::BadRequest)? {
        if out.len() + chunk.len() > max {
            return Err(ErrorKind::TooLarge.into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads an officer's form, its CSRF token bound to their session.
pub async fn read(
    state: &SharedState,
    who: &Officer,
    headers: &HeaderMap,
    multipart: Multipart,
    recipients: usize,
) -> Result<CipherForm, AppError> {
    read_checked(state, headers, multipart, recipients, |token| {
        who.check_csrf(state, headers, token).is_ok()
    })
    .await
}

/// Reads the whole form. `recipients` is how many X25519 stanzas every ciphertext part
/// must have (2 for what the reporter reads, 1 for notes and reasons); envelopes have 1.
/// `csrf_ok` judges the `csrf` field, which must come first.
pub async fn read_checked(
    state: &SharedState,
    headers: &HeaderMap,
    mut multipart: Multipart,
    recipients: usize,
    csrf_ok: impl Fn(&str) -> bool + Sync,
) -> Result<CipherForm, AppError> {
    if !crate::web::csrf::same_origin(headers) {
        return Err(ErrorKind::Csrf.into());
    }
    let mut form = CipherForm::default();
    match read_into(state, &csrf_ok, &mut multipart, recipients, &mut form).await {
        Ok(()) => Ok(form),
        Err(e) => {
            form.discard(state).await;
            Err(e)
        }
    }
}

async fn read_into(
    state: &SharedState,
    check: &(dyn Fn(&str) -> bool + Sync),
    multipart: &mut Multipart,
    recipients: usize,
    form: &mut CipherForm,
) -> Result<(), AppError> {
    let mut csrf_ok = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ErrorKind::BadRequest)?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "csrf" {
            let token = small(field, MAX_TEXT_FIELD).await?;
            if !check(&String::from_utf8_lossy(&token)) {
                return Err(ErrorKind::Csrf.into());
            }
            csrf_ok = true;
            continue;
        }
        // Nothing is read, let alone stored, before the form proved where it came from.
        if !csrf_ok {
            return Err(ErrorKind::Csrf.into());
        }
        match name.as_str() {
            "message" | "reason" | "report" | "identity" | "attachment_name" | "envelope" => {
                let bytes = small(field, MAX_SMALL_PART).await?;
                let stanzas = if name == "envelope" { 1 } else { recipients };
                if bytes.is_empty() && name == "message" {
                    continue;
                }
                if !crypto::check_header(&bytes, stanzas) {
                    return Err(ErrorKind::BadRequest.into());
                }
                match name.as_str() {
                    "message" => form.message = Some(bytes),
                    "reason" => form.reason = Some(bytes),
                    "report" => form.report = Some(bytes),
                    "identity" => form.identity = Some(bytes),
                    "envelope" => {
                        let holder = match form.fields.last() {
                            Some((n, v)) if n == "holder" => v.clone(),
                            _ => String::new(),
                        };
                        form.envelopes.push((holder, bytes));
                    }
                    _ => {
                        let file = form
                            .files
                            .last_mut()
                            .filter(|f| f.name.is_empty())
                            .ok_or(ErrorKind::BadRequest)?;
                        file.name = bytes;
                    }
                }
            }
            "attachment" => {
                let unnamed = form.files.last().is_some_and(|f| f.name.is_empty());
                if unnamed || form.files.len() >= state.settings.max_attachments {
                    return Err(ErrorKind::BadRequest.into());
                }
                stream_file(state, field, recipients, form).await?;
            }
            _ => {
                let value = small(field, MAX_TEXT_FIELD).await?;
                let value = String::from_utf8(value).map_err(|_| ErrorKind::BadRequest)?;
                form.fields.push((name, value));
            }
        }
    }
    if !csrf_ok || form.files.iter().any(|f| f.name.is_empty()) {
        return Err(ErrorKind::BadRequest.into());
    }
    Ok(())
}

/// Streams one ciphertext file into a new incomplete blob, checking its header first.
async fn stream_file(
    state: &SharedState,
    mut field: Field<'_>,
    recipients: usize,
    form: &mut CipherForm,
) -> Result<(), AppError> {
    let limit = state.settings.max_attachment_bytes + AGE_OVERHEAD;
    let blob_id = uuid::Uuid::new_v4().to_string();
    state
        .store
        .create_blob(&blob_id, state.clock.today())
        .await?;
    // Registered at once, so a refusal below discards it with the rest.
    form.files.push(Uploaded {
        blob_id: blob_id.clone(),
        size: 0,
        name: Vec::new(),
    });
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    let mut total: u64 = 0;
    let mut idx = 0i64;
    let mut checked = false;
    let mut header = None;
    while let Some(chunk) = field.chunk().await.map_err(|_| ErrorKind::BadRequest)? {
        total += chunk.len() as u64;
        if total > limit {
            return Err(ErrorKind::TooLarge.into());
        }
        buf.extend_from_slice(&chunk);
        if !checked && buf.len() >= 4096 {
            if !crypto::check_header(&buf, recipients) {
                return Err(ErrorKind::BadRequest.into());
            }
            header = header_len(&buf);
            checked = true;
        }
        while buf.len() >= CHUNK_SIZE {
            let rest = buf.split_off(CHUNK_SIZE);
            state.store.append_chunk(&blob_id, idx, &buf).await?;
            idx += 1;
            buf = rest;
        }
    }
    if !checked {
        if !crypto::check_header(&buf, recipients) {
            return Err(ErrorKind::BadRequest.into());
        }
        header = header_len(&buf);
    }
    let size = header
        .and_then(|h| plaintext_len(total, h))
        .ok_or(ErrorKind::BadRequest)?;
    if !buf.is_empty() {
        state.store.append_chunk(&blob_id, idx, &buf).await?;
    }
    if let Some(f) = form.files.last_mut() {
        f.size = size;
    }
    Ok(())
}

/// The length of an age header (through the `--- MAC` line), from bytes that hold all of it.
fn header_len(bytes: &[u8]) -> Option<usize> {
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

/// age's payload: a 16-byte nonce, then 64 KiB chunks each with a 16-byte tag; only the last
/// may be shorter, and only a lone last chunk may be empty. `None` for an impossible length.
fn plaintext_len(total: u64, header: usize) -> Option<u64> {
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
    use super::{header_len, plaintext_len};

    #[test]
    fn plaintext_sizes_follow_from_age_file_lengths() {
        let recipient = age::x25519::Identity::generate().to_public();
        for n in [0usize, 1, 17, 65_535, 65_536, 65_537, 2 * 65_536, 200_000] {
            let file = crate::crypto::encrypt(&[&recipient], &vec![7u8; n]).expect("encrypt");
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
