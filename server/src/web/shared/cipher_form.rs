//! Reading the ciphertext multipart forms a browser sends (officers' actions, the reporter's
//! sealed intake and replies): named controls (CSRF token first), then ciphertext parts,
//! each checked to be an age file to the expected number of recipients. Attachments stream into incomplete blobs that only join the case when the
//! whole request succeeds; on any refusal they are discarded, so nothing half-sent stays.

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use axum::http::HeaderMap;

use super::error::{AppError, ErrorKind};
use crate::app::uploads::{SealedUpload, StoredFile, UploadError, discard};
use crate::crypto;
use crate::web::SharedState;

/// Plaintext bounds per kind of ciphertext part, checked on the age file's length: a message
/// or reason is at most 20,000 characters (4 bytes each in UTF-8); a report or identity holds
/// a few such fields as JSON; a file name and a sealed case key are tiny.
const MAX_MESSAGE_PLAIN: u64 = 20_000 * 4;
const MAX_REPORT_PLAIN: u64 = 256 * 1024;
const MAX_NAME_PLAIN: u64 = 1024;
const MAX_ENVELOPE_PLAIN: u64 = 1024;
/// One named text control, and all of them together (each comes once, `holder` once per
/// expected envelope, so their number is bounded too).
const MAX_TEXT_FIELD: usize = 4 * 1024;
const MAX_TEXT_TOTAL: usize = 64 * 1024;

/// What one route's ciphertext form may hold; anything else is refused before it is kept.
#[derive(Clone, Copy)]
pub struct FormShape {
    /// How many X25519 stanzas every ciphertext part must have (2 for what the reporter
    /// reads, 1 for notes and reasons); envelopes have 1.
    pub recipients: usize,
    /// How many sealed case keys (`envelope`, each after a `holder` field where the route
    /// names holders) may come.
    pub envelopes: usize,
    /// How many sealed officer keys (`officer_envelope`, likewise) may come.
    pub officer_envelopes: usize,
    /// The named text controls the route reads (besides `csrf` and `holder`).
    pub fields: &'static [&'static str],
}

/// Which ciphertext part a name is, with its plaintext bound.
fn small_kind(name: &str) -> Option<u64> {
    match name {
        "message" | "reason" => Some(MAX_MESSAGE_PLAIN),
        "report" | "identity" => Some(MAX_REPORT_PLAIN),
        "attachment_name" => Some(MAX_NAME_PLAIN),
        "envelope" | "officer_envelope" => Some(MAX_ENVELOPE_PLAIN),
        _ => None,
    }
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
    /// Sealed copies of the case's officer key, likewise.
    pub officer_envelopes: Vec<(String, Vec<u8>)>,
    pub files: Vec<StoredFile>,
}

impl CipherForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Drops the files of a form that will not be used.
    pub async fn discard(&self, state: &SharedState) {
        discard(state.store(), &self.files).await;
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

/// Reads the whole form in the route's `shape`. `csrf_ok` judges the `csrf` field, which must
/// come first.
pub async fn read_checked(
    state: &SharedState,
    headers: &HeaderMap,
    mut multipart: Multipart,
    shape: FormShape,
    csrf_ok: impl Fn(&str) -> bool + Sync,
) -> Result<CipherForm, AppError> {
    if !super::csrf::same_origin(headers) {
        return Err(ErrorKind::Csrf.into());
    }
    let mut form = CipherForm::default();
    match read_into(state, &csrf_ok, &mut multipart, shape, &mut form).await {
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
    shape: FormShape,
    form: &mut CipherForm,
) -> Result<(), AppError> {
    let mut csrf_ok = false;
    let mut text_bytes = 0;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ErrorKind::BadRequest)?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "csrf" && !csrf_ok {
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
        if let Some(max_plain) = small_kind(&name) {
            let stanzas = if name.ends_with("envelope") {
                1
            } else {
                shape.recipients
            };
            let limit = crypto::max_ciphertext_len(max_plain, stanzas);
            let bytes = small(field, usize::try_from(limit).unwrap_or(usize::MAX)).await?;
            if bytes.is_empty() && name == "message" {
                continue;
            }
            if !crypto::check_small(&bytes, stanzas, max_plain) {
                return Err(ErrorKind::BadRequest.into());
            }
            keep_small(form, &name, bytes, shape)?;
        } else if name == "attachment" {
            let unnamed = form.files.last().is_some_and(|f| f.name.is_empty());
            if unnamed || form.files.len() >= state.settings.max_attachments {
                return Err(ErrorKind::BadRequest.into());
            }
            stream_file(state, field, shape.recipients, form).await?;
        } else {
            // Each field once; a `holder` once per expected envelope; anything else refused.
            let allowed = if name == "holder" {
                shape.envelopes.max(shape.officer_envelopes)
            } else {
                usize::from(shape.fields.contains(&name.as_str()))
            };
            if form.fields.iter().filter(|(n, _)| *n == name).count() >= allowed {
                return Err(ErrorKind::BadRequest.into());
            }
            let value = small(field, MAX_TEXT_FIELD).await?;
            text_bytes += value.len();
            if text_bytes > MAX_TEXT_TOTAL {
                return Err(ErrorKind::TooLarge.into());
            }
            let value = String::from_utf8(value).map_err(|_| ErrorKind::BadRequest)?;
            form.fields.push((name, value));
        }
    }
    if !csrf_ok || form.files.iter().any(|f| f.name.is_empty()) {
        return Err(ErrorKind::BadRequest.into());
    }
    Ok(())
}

/// Puts one checked ciphertext part in its place; a second copy of a single part, an
/// envelope beyond the expected holders, or a name without its file is refused.
fn keep_small(
    form: &mut CipherForm,
    name: &str,
    bytes: Vec<u8>,
    shape: FormShape,
) -> Result<(), AppError> {
    let slot = match name {
        "message" => Some(&mut form.message),
        "reason" => Some(&mut form.reason),
        "report" => Some(&mut form.report),
        "identity" => Some(&mut form.identity),
        _ => None,
    };
    if let Some(slot) = slot {
        if slot.is_some() {
            return Err(ErrorKind::BadRequest.into());
        }
        *slot = Some(bytes);
        return Ok(());
    }
    match name {
        "envelope" | "officer_envelope" => {
            let holder = match form.fields.last() {
                Some((n, v)) if n == "holder" => v.clone(),
                _ => String::new(),
            };
            let (list, max) = if name == "envelope" {
                (&mut form.envelopes, shape.envelopes)
            } else {
                (&mut form.officer_envelopes, shape.officer_envelopes)
            };
            if list.len() >= max {
                return Err(ErrorKind::BadRequest.into());
            }
            list.push((holder, bytes));
            Ok(())
        }
        _ => {
            let file = form
                .files
                .last_mut()
                .filter(|f| f.name.is_empty())
                .ok_or(ErrorKind::BadRequest)?;
            file.name = bytes;
            Ok(())
        }
    }
}

/// Streams one ciphertext file into a new incomplete blob, checking its header first.
async fn stream_file(
    state: &SharedState,
    mut field: Field<'_>,
    recipients: usize,
    form: &mut CipherForm,
) -> Result<(), AppError> {
    let max = state.settings.max_attachment_bytes;
    let mut upload =
        SealedUpload::begin(state.store(), recipients, state.clock.today(), max).await?;
    // Registered at once, so a refusal below discards it with the rest.
    form.files.push(StoredFile {
        blob_id: upload.blob_id.clone(),
        size: 0,
        name: Vec::new(),
    });
    let refused = |e: UploadError| -> AppError {
        match e {
            UploadError::TooLong => ErrorKind::TooLarge.into(),
            UploadError::Malformed => ErrorKind::BadRequest.into(),
            UploadError::Failed(e) => e.into(),
        }
    };
    while let Some(chunk) = field.chunk().await.map_err(|_| ErrorKind::BadRequest)? {
        upload.write(&chunk).await.map_err(refused)?;
    }
    let size = upload.finish().await.map_err(refused)?;
    if let Some(f) = form.files.last_mut() {
        f.size = size;
    }
    Ok(())
}
