//! Streaming a stored blob to the browser chunk by chunk, as stored (ciphertext the browser
//! decrypts) or decrypted on the fly with the reporter's identity (the no-JavaScript
//! mailbox). Memory stays at a few chunks whatever the file's size.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::store::{SharedStore, Store};

/// Streams a blob's age file chunk by chunk, as stored.
pub fn ciphertext_response(store: SharedStore, blob: String) -> Response {
    let stream = futures_util::stream::unfold(Some(0i64), move |next| {
        let store = store.clone();
        let blob = blob.clone();
        async move {
            let idx = next?;
            match store.chunk(&blob, idx).await {
                Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(bytes), Some(idx + 1))),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
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

/// Reads a blob's chunks from the store on demand, for age's synchronous stream reader.
/// Runs on a blocking thread, so waiting on the async store there is allowed.
struct BlobReader {
    store: Arc<dyn Store>,
    blob_id: String,
    idx: i64,
    buf: Vec<u8>,
    pos: usize,
    rt: tokio::runtime::Handle,
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            let next = self
                .rt
                .block_on(self.store.chunk(&self.blob_id, self.idx))
                .map_err(std::io::Error::other)?;
            match next {
                Some(c) => {
                    self.buf = c;
                    self.pos = 0;
                    self.idx += 1;
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
        store,
        blob_id,
        idx: 0,
        buf: Vec::new(),
        pos: 0,
        rt: tokio::runtime::Handle::current(),
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
