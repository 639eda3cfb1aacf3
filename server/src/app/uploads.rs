//! Attachments on their way into a case, for both intake roads: a plaintext file the server
//! encrypts chunk by chunk as it arrives ([`EncryptingUpload`], the no-JavaScript path) and an
//! age file the browser already encrypted ([`SealedUpload`], checked for the age format and
//! the expected recipients). Either way the ciphertext goes into an incomplete blob that only
//! becomes part of a case when the whole request succeeds; otherwise [`discard`] drops it.

use age::x25519::Recipient;
use time::Date;

use super::{Error, new_id};
use crate::crypto::{self, CHUNK_SIZE, StreamEncryptor};
use crate::store::Store;

/// A file stored as an incomplete blob, waiting to be claimed by an item.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub blob_id: String,
    /// The plaintext's size (an age file's length gives it away exactly).
    pub size: u64,
    /// The file name, age-encrypted like the content.
    pub name: Vec<u8>,
}

/// Why an upload stopped.
#[derive(Debug)]
pub enum UploadError {
    /// Over the per-file limit.
    TooLong,
    /// Not an age file to the expected recipients, or an impossible length.
    Malformed,
    Failed(Error),
}

impl<E: Into<Error>> From<E> for UploadError {
    fn from(e: E) -> Self {
        UploadError::Failed(e.into())
    }
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

/// How many chunks of an upload are written in one transaction: one commit (and fsync) per
/// 4 MiB rather than per 512 KiB, which was most of an upload's time; memory stays bounded
/// by this many chunks per upload, whatever the file's size.
const CHUNKS_PER_WRITE: usize = 8;

/// Chunks waiting to be written together, numbered from `next`.
struct Pending {
    chunks: Vec<Vec<u8>>,
    next: i64,
}

impl Pending {
    fn new() -> Self {
        Self {
            chunks: Vec::with_capacity(CHUNKS_PER_WRITE),
            next: 0,
        }
    }

    /// Takes a chunk; writes the batch once it is full (or at once when `all`).
    async fn push(
        &mut self,
        store: &dyn Store,
        blob_id: &str,
        chunks: impl IntoIterator<Item = Vec<u8>>,
        all: bool,
    ) -> Result<(), Error> {
        for c in chunks {
            self.chunks.push(c);
            if self.chunks.len() >= CHUNKS_PER_WRITE {
                self.flush(store, blob_id).await?;
            }
        }
        if all {
            self.flush(store, blob_id).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, store: &dyn Store, blob_id: &str) -> Result<(), Error> {
        if self.chunks.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::replace(&mut self.chunks, Vec::with_capacity(CHUNKS_PER_WRITE));
        let n = chunks.len() as i64;
        store.append_chunks(blob_id, self.next, chunks).await?;
        self.next += n;
        Ok(())
    }
}

/// A plaintext file encrypted as it streams in; no more than about `CHUNKS_PER_WRITE` + 2
/// chunks are ever in memory.
pub struct EncryptingUpload<'a> {
    store: &'a dyn Store,
    recipients: &'a [&'a Recipient],
    pub blob_id: String,
    enc: StreamEncryptor,
    pending: Pending,
    max_bytes: u64,
}

impl<'a> EncryptingUpload<'a> {
    pub async fn begin(
        store: &'a dyn Store,
        recipients: &'a [&'a Recipient],
        day: Date,
        max_bytes: u64,
    ) -> Result<Self, Error> {
        let blob_id = new_id();
        store.create_blob(&blob_id, day).await?;
        Ok(Self {
            store,
            recipients,
            blob_id,
            enc: StreamEncryptor::new(recipients)?,
            pending: Pending::new(),
            max_bytes,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        if self.enc.plaintext_len() + chunk.len() as u64 > self.max_bytes {
            return Err(UploadError::TooLong);
        }
        self.enc.write(chunk)?;
        let full = self.enc.full_chunks();
        self.pending
            .push(self.store, &self.blob_id, full, false)
            .await?;
        Ok(())
    }

    /// Ends the file; its name is encrypted to the same recipients.
    pub async fn finish(mut self, name: &str) -> Result<StoredFile, Error> {
        let size = self.enc.plaintext_len();
        let last = self.enc.finish()?;
        self.pending
            .push(self.store, &self.blob_id, last, true)
            .await?;
        Ok(StoredFile {
            blob_id: self.blob_id,
            size,
            name: crypto::encrypt(self.recipients, name.as_bytes())?,
        })
    }
}

/// age's overhead over the plaintext: 16 bytes per 64 KiB plus a header; this is generous.
const AGE_OVERHEAD: u64 = 1024 * 1024;

/// An age file from the browser, stored as it arrives once its header proved it is one.
pub struct SealedUpload<'a> {
    store: &'a dyn Store,
    pub blob_id: String,
    recipients: usize,
    limit: u64,
    buf: Vec<u8>,
    total: u64,
    pending: Pending,
    header: Option<usize>,
}

impl<'a> SealedUpload<'a> {
    /// `recipients` is how many X25519 stanzas the file must have.
    pub async fn begin(
        store: &'a dyn Store,
        recipients: usize,
        day: Date,
        max_plaintext: u64,
    ) -> Result<Self, Error> {
        let blob_id = new_id();
        store.create_blob(&blob_id, day).await?;
        Ok(Self {
            store,
            blob_id,
            recipients,
            limit: max_plaintext + AGE_OVERHEAD,
            buf: Vec::with_capacity(CHUNK_SIZE),
            total: 0,
            pending: Pending::new(),
            header: None,
        })
    }

    fn check_header(&mut self) -> Result<(), UploadError> {
        if !crypto::check_header(&self.buf, self.recipients) {
            return Err(UploadError::Malformed);
        }
        self.header = Some(crypto::header_len(&self.buf).ok_or(UploadError::Malformed)?);
        Ok(())
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        self.total += chunk.len() as u64;
        if self.total > self.limit {
            return Err(UploadError::TooLong);
        }
        self.buf.extend_from_slice(chunk);
        if self.header.is_none() && self.buf.len() >= 4096 {
            self.check_header()?;
        }
        while self.buf.len() >= CHUNK_SIZE {
            let rest = self.buf.split_off(CHUNK_SIZE);
            let full = std::mem::replace(&mut self.buf, rest);
            self.pending
                .push(self.store, &self.blob_id, [full], false)
                .await?;
        }
        Ok(())
    }

    /// Ends the file; returns the plaintext size its length implies.
    pub async fn finish(mut self) -> Result<u64, UploadError> {
        if self.header.is_none() {
            self.check_header()?;
        }
        let size = self
            .header
            .and_then(|h| crypto::plaintext_len(self.total, h))
            .ok_or(UploadError::Malformed)?;
        let last = (!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf));
        self.pending
            .push(self.store, &self.blob_id, last, true)
            .await?;
        Ok(size)
    }
}

/// Drops one upload a refused or failed request left; the daily purge catches any this
/// misses.
pub async fn discard_one(store: &dyn Store, blob_id: &str) {
    if let Err(e) = store.discard_blob(blob_id).await {
        tracing::warn!(error = %e, "could not discard an unfinished upload; the purge will");
    }
}

/// Drops the uploads of a refused or failed request.
pub async fn discard(store: &dyn Store, files: &[StoredFile]) {
    for f in files {
        discard_one(store, &f.blob_id).await;
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
