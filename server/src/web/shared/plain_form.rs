//! Reading the reporter's plaintext multipart forms (the no-JavaScript path) without ever
//! holding plaintext longer than needed: the CSRF token must come first, text fields are
//! capped and wiped on drop, and file fields are handed chunk by chunk to the intake's
//! encrypting upload, which stores them as incomplete blobs until a case claims them.

use age::x25519::Recipient;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use time::Date;
use zeroize::Zeroizing;

use super::error::{AppError, ErrorKind};
use crate::app::App;
use crate::app::uploads::{
    EncryptingUpload, StoredFile, UploadError, clean_file_name, discard_one,
};
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
) -> Result<Option<StoredFile>, FieldError> {
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
    let mut upload = EncryptingUpload::begin(store, recipients, day, max_bytes)
        .await
        .map_err(|e| FieldError::Internal(e.into()))?;
    started.push(upload.blob_id.clone());
    let mut next = Some(first);
    while let Some(chunk) = next {
        upload.write(&chunk).await.map_err(|e| match e {
            UploadError::TooLong => FieldError::TooLong,
            UploadError::Malformed => FieldError::Http(ErrorKind::BadRequest),
            UploadError::Failed(e) => FieldError::Internal(e.into()),
        })?;
        next = field.chunk().await?;
    }
    let stored = upload
        .finish(&name)
        .await
        .map_err(|e| FieldError::Internal(e.into()))?;
    Ok(Some(stored))
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
    pub files: Vec<StoredFile>,
}

pub const FILE_FIELD: &str = "attachments";

impl<'a> FormReader<'a> {
    /// Limits come from the settings; files are stamped with today's date only.
    pub async fn open(
        multipart: &'a mut Multipart,
        state: &'a App,
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
        for id in &self.started {
            discard_one(self.store, id).await;
        }
    }
}
