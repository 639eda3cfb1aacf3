//! The load generator: a fixed number of requests in flight for a fixed time over loopback,
//! each request's latency recorded in microseconds. Two kinds of workers: a minimal HTTP/1.1
//! keep-alive GET client on a raw TCP stream (cheap enough that the page figures measure the
//! server, not the generator) and reqwest for form posts, whose bodies are built before the
//! clock starts.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one request came to.
pub enum Outcome {
    Status(u16),
    /// The request failed below HTTP (connection refused or reset, timeout).
    Failed(String),
    /// The worker has nothing left to send (a pool of prepared bodies ran out).
    Exhausted,
}

pub trait Worker: Send + 'static {
    fn call(&mut self) -> impl Future<Output = Outcome> + Send;
}

#[derive(Default)]
pub struct Stats {
    pub statuses: BTreeMap<u16, u64>,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub lat_us: Vec<u32>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn count(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.failed
    }
    /// Answers below 400.
    pub fn ok(&self) -> u64 {
        self.statuses.range(..400).map(|(_, n)| n).sum()
    }
    /// Everything that is not a success: 4xx, 5xx and failures below HTTP.
    pub fn errors(&self) -> u64 {
        self.count() - self.ok()
    }
    pub fn server_errors(&self) -> u64 {
        self.statuses.range(500..).map(|(_, n)| n).sum::<u64>() + self.failed
    }
    pub fn rate(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// The latency at quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        if self.lat_us.is_empty() {
            return 0.0;
        }
        let i = ((self.lat_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.lat_us[i]) / 1000.0
    }
    pub fn statuses_text(&self) -> String {
        let mut parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        if self.failed > 0 {
            parts.push(format!(
                "failed×{} ({})",
                self.failed,
                self.first_failure.as_deref().unwrap_or("")
            ));
        }
        parts.join(" ")
    }
}

/// Runs every worker in a loop until `duration` has passed (or it is exhausted).
pub async fn drive<W: Worker>(workers: Vec<W>, duration: Duration) -> Stats {
    let start = Instant::now();
    let deadline = start + duration;
    let mut set = tokio::task::JoinSet::new();
    for mut w in workers {
        set.spawn(async move {
            let mut s = Stats::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                let outcome = w.call().await;
                let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                match outcome {
                    Outcome::Status(code) => *s.statuses.entry(code).or_default() += 1,
                    Outcome::Failed(e) => {
                        s.failed += 1;
                        s.first_failure.get_or_insert(e);
                    }
                    Outcome::Exhausted => break,
                }
                s.lat_us.push(us);
            }
            s
        });
    }
    let mut all = Stats::default();
    while let Some(r) = set.join_next().await {
        let Ok(s) = r else { continue };
        for (k, v) in s.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        all.failed += s.failed;
        if all.first_failure.is_none() {
            all.first_failure = s.first_failure;
        }
        all.lat_us.extend(s.lat_us);
    }
    all.elapsed = start.elapsed();
    all.lat_us.sort_unstable();
    all
}

/// One keep-alive connection sending the same GET over and over.
pub struct RawGet {
    addr: SocketAddr,
    request: Arc<[u8]>,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
}

impl RawGet {
    pub fn new(addr: SocketAddr, path: &str) -> Self {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html\r\n\r\n");
        Self {
            addr,
            request: request.into_bytes().into(),
            conn: None,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    async fn once(&mut self) -> std::io::Result<u16> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            self.conn = Some(s);
            self.buf.clear();
        }
        let Some(conn) = self.conn.as_mut() else {
            unreachable!("connected above")
        };
        conn.write_all(&self.request).await?;
        read_response(conn, &mut self.buf).await
    }
}

impl Worker for RawGet {
    async fn call(&mut self) -> Outcome {
        match self.once().await {
            Ok(status) => Outcome::Status(status),
            Err(e) => {
                self.conn = None;
                Outcome::Failed(e.to_string())
            }
        }
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// Reads one response with a `Content-Length` body; returns its status.
async fn read_response(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if conn.read_buf(buf).await? == 0 {
            return Err(bad("connection closed"));
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("head not UTF-8"))?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or_else(|| bad("no Content-Length"))?;
    while buf.len() < head_end + length {
        if conn.read_buf(buf).await? == 0 {
            return Err(bad("connection closed in the body"));
        }
    }
    buf.drain(..head_end + length);
    Ok(status)
}

/// Posts prepared bodies: the same one each time, or each once from a shared pool.
pub struct Post {
    pub client: reqwest::Client,
    pub url: String,
    pub content_type: String,
    pub bodies: Arc<Vec<Bytes>>,
    pub next: Arc<AtomicUsize>,
    /// Each body once (a sealed submission's lookup value is unique); else round robin.
    pub once: bool,
    /// Where receipts shown in answers are kept (for the follow-up run).
    pub receipts: Option<Arc<Mutex<Vec<String>>>>,
}

impl Post {
    pub fn workers(&self, n: usize) -> Vec<Post> {
        (0..n)
            .map(|_| Post {
                client: self.client.clone(),
                url: self.url.clone(),
                content_type: self.content_type.clone(),
                bodies: self.bodies.clone(),
                next: self.next.clone(),
                once: self.once,
                receipts: self.receipts.clone(),
            })
            .collect()
    }
}

impl Worker for Post {
    async fn call(&mut self) -> Outcome {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if self.once && i >= self.bodies.len() {
            return Outcome::Exhausted;
        }
        let body = self.bodies[i % self.bodies.len()].clone();
        let res = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, &self.content_type)
            .body(body)
            .send()
            .await;
        match res {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(page) => {
                        if let Some(keep) = &self.receipts
                            && status == 200
                            && let Some(token) = receipt_in(&page)
                        {
                            let mut k = keep.lock().unwrap_or_else(|e| e.into_inner());
                            if k.len() < 5000 {
                                k.push(token);
                            }
                        }
                        Outcome::Status(status)
                    }
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

fn receipt_in(html: &str) -> Option<String> {
    let start = html.find("id=\"receipt\">")? + "id=\"receipt\">".len();
    let token = html[start..].split('<').next()?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// A client for form posts: no redirects followed (the 303 after a follow-up is the answer),
/// enough idle connections for every worker.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// A `multipart/form-data` body built in memory, as a browser's `FormData` sends it.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Self {
            boundary: format!("speakupbench{}", uuid::Uuid::new_v4().simple()),
            body: Vec::new(),
        }
    }
}

impl Multipart {
    /// A body with a fixed boundary, so that many prepared bodies share one `Content-Type`.
    pub fn with_boundary(boundary: &str) -> Self {
        Self {
            boundary: boundary.to_owned(),
            body: Vec::new(),
        }
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.head(name, None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file(mut self, name: &str, file_name: &str, data: &[u8]) -> Self {
        self.head(name, Some(file_name));
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    fn head(&mut self, name: &str, file_name: Option<&str>) {
        let b = &self.boundary;
        let disposition = match file_name {
            Some(f) => format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        self.body.extend_from_slice(disposition.as_bytes());
    }

    /// The `Content-Type` header and the body.
    pub fn finish(mut self) -> (String, Bytes) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            Bytes::from(self.body),
        )
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The opening of a part, for bodies streamed by the caller.
    pub fn part_head(&self, name: &str, file_name: Option<&str>) -> Vec<u8> {
        let mut m = Multipart {
            boundary: self.boundary.clone(),
            body: Vec::new(),
        };
        m.head(name, file_name);
        m.body
    }

    pub fn closing(&self) -> Vec<u8> {
        format!("\r\n--{}--\r\n", self.boundary).into_bytes()
    }

    /// The fields so far, without the closing boundary (a streamed part follows).
    pub fn into_prefix(self) -> Vec<u8> {
        self.body
    }
}
