//! Reading multipart forms without ever holding plaintext longer than needed: text fields
//! are capped and wiped on drop; file fields are encrypted chunk by chunk as they arrive and
//! written to the store as incomplete blobs, which only become part of a case when the
//! whole request succeeds (otherwise the caller discards them).

use age::x25519::Recipient;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use time::Date;
use zeroize::Zeroizing;

use super::AppState;
use super::error::{AppError, ErrorKind};
use crate::crypto::{self, StreamEncryptor};
use crate::store::Store;

/// The longest text a field may hold, in characters (and 4x that in bytes while reading).
pub const MAX_TEXT_CHARS: usize = 20_000;

#[derive(Debug)]
pub enum FieldError {
    /// A text field over [`MAX_TEXT_CHARS`], or a file over the per-file limit.
    TooLong,
    /// A file field with a name but no content.
    EmptyFile,
    Http(ErrorKind),
    Internal(AppError),
}

impl From<MultipartError> for FieldError {
    fn from(e: MultipartError) -> Self {
        // The error text can quote the body; only its status is kept.
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FieldError::Http(ErrorKind::TooLarge)
        } else {
            FieldError::Http(ErrorKind::BadRequest)
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::TooLong => AppError::Page(ErrorKind::TooLarge),
            FieldError::EmptyFile => AppError::Page(ErrorKind::BadRequest),
            FieldError::Http(k) => AppError::Page(k),
            FieldError::Internal(e) => e,
        }
    }
}

/// Reads a text field; refuses invalid UTF-8 and over-long values.
async fn text(mut field: Field<'_>) -> Result<Zeroizing<String>, FieldError> {
    let mut bytes = Zeroizing::new(Vec::new());
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > MAX_TEXT_CHARS * 4 {
            return Err(FieldError::TooLong);
        }
        bytes.extend_from_slice(&chunk);
    }
    let s = std::str::from_utf8(&bytes).map_err(|_| FieldError::Http(ErrorKind::BadRequest))?;
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(FieldError::TooLong);
    }
    // Browsers send CRLF in textareas; keep what the reporter sees.
    Ok(Zeroizing::new(s.replace("\r\n", "\n")))
}

/// An attachment that has been encrypted and stored, waiting to be claimed by an item.
pub struct Received {
    pub blob_id: String,
    pub encrypted_name: Vec<u8>,
    pub size: u64,
}

/// Keeps only the last path component and a sane length; browsers on some systems send
/// full paths, which can contain the reporter's user name.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

/// Streams one file field into an encrypted blob. `Ok(None)` for the empty part browsers
/// send when no file was chosen. On error the blob id (if any) has been pushed to
/// `started`, so the caller can discard it.
async fn file(
    store: &dyn Store,
    mut field: Field<'_>,
    recipients: &[&Recipient],
    max_bytes: u64,
    day: Date,
    started: &mut Vec<String>,
) -> Result<Option<Received>, FieldError> {
    let name = Zeroizing::new(field.file_name().map(clean_file_name).unwrap_or_default());
    // A browser sends an unused file input as a part with an empty name and no bytes, which
    // may arrive as one empty chunk: only the first non-empty chunk starts a file.
    let mut first = field.chunk().await?;
    while first.as_ref().is_some_and(|c| c.is_empty()) {
        first = field.chunk().await?;
    }
    let Some(first) = first else {
        if field.file_name().is_none_or(|n| n.is_empty()) {
            return Ok(None);
        }
        return Err(FieldError::EmptyFile);
    };
    let blob_id = uuid::Uuid::new_v4().to_string();
    store
        .create_blob(&blob_id, day)
        .await
        .map_err(|e| FieldError::Internal(e.into()))?;
    started.push(blob_id.clone());
    let mut enc = StreamEncryptor::new(recipients).map_err(|e| FieldError::Internal(e.into()))?;
    let mut idx = 0i64;
    let mut next = Some(first);
    while let Some(chunk) = next {
        if enc.plaintext_len() + chunk.len() as u64 > max_bytes {
            return Err(FieldError::TooLong);
        }
        enc.write(&chunk)
            .map_err(|e| FieldError::Internal(e.into()))?;
        for c in enc.full_chunks() {
            store
                .append_chunk(&blob_id, idx, &c)
                .await
                .map_err(|e| FieldError::Internal(e.into()))?;
            idx += 1;
        }
        next = field.chunk().await?;
    }
    let size = enc.plaintext_len();
    for c in enc.finish().map_err(|e| FieldError::Internal(e.into()))? {
        store
            .append_chunk(&blob_id, idx, &c)
            .await
            .map_err(|e| FieldError::Internal(e.into()))?;
        idx += 1;
    }
    let encrypted_name =
        crypto::encrypt(recipients, name.as_bytes()).map_err(|e| FieldError::Internal(e.into()))?;
    Ok(Some(Received {
        blob_id,
        encrypted_name,
        size,
    }))
}

/// Why a form was refused in a way its own page explains (each page has its wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooLong,
    TooManyFiles,
    EmptyFile,
}

/// One step through a form read by [`FormReader`].
pub enum Step {
    Text(String, Zeroizing<String>),
    /// A file field was encrypted and stored (or was the empty part of "no file chosen").
    Stored,
    /// A file field arrived but the caller said not to store anything yet.
    Held,
    Refused(Refusal),
    Done,
}

/// Reads a reporter form whose first field must be its CSRF token, so nothing is stored
/// for a forged request; files (the field `attachments`) are encrypted and stored as they
/// arrive, up to the configured count. Whatever it stored is listed in `started` until a
/// case claims it, so a caller that gives up can discard it.
pub struct FormReader<'a> {
    multipart: &'a mut Multipart,
    store: &'a dyn Store,
    recipients: &'a [&'a Recipient],
    max_bytes: u64,
    max_files: usize,
    day: Date,
    pub started: Vec<String>,
    pub files: Vec<Received>,
}

pub const FILE_FIELD: &str = "attachments";

impl<'a> FormReader<'a> {
    /// Limits come from the settings; files are stamped with today's date only.
    pub async fn open(
        multipart: &'a mut Multipart,
        state: &'a AppState,
        recipients: &'a [&'a Recipient],
        csrf_valid: impl FnOnce(&str) -> bool,
    ) -> Result<Self, AppError> {
        let field = multipart
            .next_field()
            .await
            .map_err(FieldError::from)?
            .ok_or(ErrorKind::Csrf)?;
        if field.name() != Some("csrf") || !csrf_valid(&text(field).await?) {
            return Err(ErrorKind::Csrf.into());
        }
        Ok(Self {
            multipart,
            store: state.store.as_ref(),
            recipients,
            max_bytes: state.settings.max_attachment_bytes,
            max_files: state.settings.max_attachments,
            day: state.clock.today(),
            started: Vec::new(),
            files: Vec::new(),
        })
    }

    /// Reads the next field. A file is stored only if `may_store` says so when it arrives.
    pub async fn next(&mut self, may_store: impl FnOnce() -> bool) -> Result<Step, AppError> {
        let Some(field) = self
            .multipart
            .next_field()
            .await
            .map_err(FieldError::from)?
        else {
            return Ok(Step::Done);
        };
        let name = field.name().unwrap_or("").to_owned();
        if name != FILE_FIELD {
            return match text(field).await {
                Ok(v) => Ok(Step::Text(name, v)),
                Err(FieldError::TooLong) => Ok(Step::Refused(Refusal::TooLong)),
                Err(e) => Err(e.into()),
            };
        }
        if !may_store() {
            return Ok(Step::Held);
        }
        let received = file(
            self.store,
            field,
            self.recipients,
            self.max_bytes,
            self.day,
            &mut self.started,
        )
        .await;
        match received {
            Ok(Some(r)) if self.files.len() < self.max_files => {
                self.files.push(r);
                Ok(Step::Stored)
            }
            Ok(Some(_)) => Ok(Step::Refused(Refusal::TooManyFiles)),
            Ok(None) => Ok(Step::Stored),
            Err(FieldError::EmptyFile) => Ok(Step::Refused(Refusal::EmptyFile)),
            Err(e) => Err(e.into()),
        }
    }

    /// Drops everything this form stored (a refused or failed request).
    pub async fn discard(&self) {
        discard(self.store, &self.started).await;
    }
}

/// Drops the blobs of a request that did not complete. Failures here only leave incomplete
/// blobs, which the daily purge removes.
async fn discard(store: &dyn Store, blob_ids: &[String]) {
    for id in blob_ids {
        if let Err(e) = store.discard_blob(id).await {
            tracing::warn!(error = %e, "could not discard an unfinished upload; the purge will");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(
            super::clean_file_name("C:\\Users\\jan.peeters\\memo.pdf"),
            "memo.pdf"
        );
        assert_eq!(super::clean_file_name("/home/jan/x.png"), "x.png");
        assert_eq!(super::clean_file_name(".."), "attachment");
        assert_eq!(super::clean_file_name(""), "attachment");
    }
}
