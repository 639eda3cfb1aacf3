//! The connections the server holds and for how long: at most `max_connections` at once
//! (further ones wait in the listen queue), request headers within the header timeout (which
//! also ends a kept-alive connection that sends nothing), request bodies at a minimum
//! average rate after that head start (large uploads at an honest pace pass, a trickle is
//! cut), and no connection left with no bytes moving and no request being handled for the
//! idle timeout (a client that stops reading its response). Shutdown is graceful: the
//! listener closes, requests in flight finish. Each request carries its peer as
//! `ConnectInfo<SocketAddr>`, held in memory only (reporter-anonymity: never logged).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::Request;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::Connections;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Accepts connections until `shutdown` resolves, then waits for those open to finish their
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Connections,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // A free slot first: past the cap, connections wait in the kernel's queue.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    pause_after_accept_error(e).await;
                    continue;
                }
            },
        };
        let conn = connection(stream, peer, router.clone(), &limits, &graceful);
        tokio::spawn(async move {
            conn.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A client that went away before its connection was accepted is no news; anything else
/// (out of file descriptors) is logged, and accepting pauses a moment.
async fn pause_after_accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One connection: HTTP/1 with the header timeout, bodies held to the minimum rate, the
/// peer attached to each request, and the idle watchdog.
fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: &Connections,
    graceful: &GracefulShutdown,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    let activity = Activity::default();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let (grace, rate) = (limits.header_timeout, limits.min_upload_bytes_per_sec);
    let handling = activity.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut req = req.map(|body| MinRate::new(body, grace, rate));
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = handling.busy();
        let response = router.clone().oneshot(req);
        async move {
            let response = response.await;
            drop(busy);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(io, service);
    let conn = graceful.watch(conn);
    let idle = limits.idle_timeout;
    async move {
        tokio::select! {
            // An error here is the client's doing (gone, too slow, malformed): nothing to log.
            _ = conn => {}
            () = activity.stalled(idle) => {}
        }
    }
}

/// When bytes last moved on a connection, and how many of its requests are being handled.
#[derive(Clone)]
struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    since: Instant,
    last_millis: AtomicU64,
    busy: AtomicUsize,
}

impl Default for Activity {
    fn default() -> Self {
        Self(Arc::new(ActivityInner {
            since: Instant::now(),
            last_millis: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }))
    }
}

impl Activity {
    fn now_millis(&self) -> u64 {
        u64::try_from(self.0.since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.0
            .last_millis
            .store(self.now_millis(), Ordering::Relaxed);
    }

    fn busy(&self) -> Busy {
        self.0.busy.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Resolves once no request is being handled and no byte has moved for `idle`.
    async fn stalled(&self, idle: Duration) {
        let idle_millis = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        loop {
            let quiet = self
                .now_millis()
                .saturating_sub(self.0.last_millis.load(Ordering::Relaxed));
            if quiet >= idle_millis && self.0.busy.load(Ordering::Relaxed) == 0 {
                return;
            }
            let wait = idle_millis
                .saturating_sub(quiet)
                .max(idle_millis / 4)
                .max(1);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
}

/// A request being handled; the idle clock restarts when it is done.
struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The TCP stream, noting each time bytes move.
struct Watched {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The request body cut off was arriving slower than the minimum rate.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than the minimum upload rate")]
pub struct TooSlow;

/// A request body that must keep an average of `bytes_per_sec` after a head start of
/// `grace`: by any moment, `rate × (elapsed − grace)` bytes must have arrived.
pub struct MinRate<B> {
    inner: B,
    started: Instant,
    received: u64,
    grace: Duration,
    bytes_per_sec: u64,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> MinRate<B> {
    pub fn new(inner: B, grace: Duration, bytes_per_sec: u64) -> Self {
        Self {
            inner,
            started: Instant::now(),
            received: 0,
            grace,
            bytes_per_sec: bytes_per_sec.max(1),
            timer: None,
        }
    }

    /// When the bytes received so far stop covering the minimum rate.
    fn deadline(&self) -> Instant {
        let earned = Duration::from_millis(self.received.saturating_mul(1000) / self.bytes_per_sec);
        self.started
            .checked_add(self.grace.saturating_add(earned))
            .unwrap_or_else(|| self.started + Duration::from_secs(365 * 24 * 60 * 60))
    }
}

impl<B> HttpBody for MinRate<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    let deadline = this.deadline();
                    if let Some(timer) = this.timer.as_mut() {
                        timer.as_mut().reset(deadline);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = this.deadline();
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(TooSlow.into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
