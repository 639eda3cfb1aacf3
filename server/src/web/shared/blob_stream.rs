//! Streaming a stored blob to the browser chunk by chunk, as stored (ciphertext the browser
//! decrypts) or decrypted on the fly with the reporter's identity (the no-JavaScript
//! mailbox). Memory stays at a few chunks whatever the file's size.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::store::SharedStore;

/// How many chunks are read ahead of the one being sent or decrypted.
const READ_AHEAD: usize = 2;

/// Reads a blob's chunks in order on a task of its own, up to `READ_AHEAD` ahead of the
/// consumer, so the next chunk comes from the database while the current one is decrypted
/// or sent. Ends after the last chunk or the first error; stops when the consumer is gone.
fn read_ahead(
    store: SharedStore,
    blob: String,
) -> tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        for idx in 0i64.. {
            let next = match store.chunk(&blob, idx).await {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => return,
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = next.is_err();
            if tx.send(next).await.is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// Streams a blob's age file chunk by chunk, as stored.
pub fn ciphertext_response(store: SharedStore, blob: String) -> Response {
    let mut chunks = read_ahead(store, blob);
    let stream = futures_util::stream::poll_fn(move |cx| chunks.poll_recv(cx));
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"attachment.age\""),
    );
    res
}

/// A blob's chunks, read ahead (`read_ahead`), for age's synchronous stream reader. Runs on
/// a blocking thread, so waiting for the next chunk there is allowed.
struct BlobReader {
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            match self.chunks.blocking_recv() {
                Some(c) => {
                    self.buf = c?;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn decrypt_into(
    reader: BlobReader,
    identity: age::x25519::Identity,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
) {
    let stream = age::Decryptor::new(reader)
        .map_err(std::io::Error::other)
        .and_then(|d| {
            d.decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map_err(std::io::Error::other)
        });
    let mut stream = match stream {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.blocking_send(Err(e));
            return;
        }
    };
    loop {
        let mut buf = vec![0u8; 64 * 1024];
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(Ok(buf)).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "attachment could not be decrypted");
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

/// Streams a blob decrypted with `identity`, as a download named `name` of `size` bytes.
pub fn decrypted_response(
    store: SharedStore,
    blob_id: String,
    identity: age::x25519::Identity,
    name: &str,
    size: i64,
) -> Response {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let reader = BlobReader {
        chunks: read_ahead(store, blob_id),
        buf: Vec::new(),
        pos: 0,
    };
    tokio::task::spawn_blocking(move || decrypt_into(reader, identity, tx));
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_DISPOSITION, content_disposition(name));
    if let Ok(len) = HeaderValue::from_str(&size.to_string()) {
        h.insert(header::CONTENT_LENGTH, len);
    }
    res
}

/// RFC 6266 `filename*` so any file name survives, with an ASCII fallback.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_encoded_for_headers() {
        let v = super::content_disposition("rapport été.pdf");
        let s = v.to_str().unwrap();
        assert!(s.contains("filename=\"rapport _t_.pdf\""), "{s}");
        assert!(
            s.contains("filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf"),
            "{s}"
        );
    }
}
