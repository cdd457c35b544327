//! The server's connections: an accept loop on hyper (HTTP/1.1, optionally inside TLS) that bounds how long a
//! client may take to send a request head, a request body, or to read a response, how long an idle keep-alive
//! connection stays open, and how many connections are open at once. `axum::serve` bounds none of these, so
//! connections that never finish their request head stayed open for good.

use gridline_core::ErrorCode;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_rustls::rustls;

use crate::error::ServerError;

/// A new connection, or one whose previous request was answered and whose client started a new one, must
/// deliver the whole request head within this time. Devices send a head of a few hundred bytes in one write,
/// so 10 s is generous even on a poor mobile link; a connection that stalls mid-head (slowloris) holds a slot
/// for at most this long.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A request body must arrive within this time after its head, extended by one second per
/// [`BODY_MIN_RATE`] bytes already received. A few bytes a second are cut off after 30 s, while a 10 MiB photo
/// on a slow uplink still gets the time its size needs (the device's own request timeout is 120 s).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes per second of body that earn one more second beyond [`BODY_TIMEOUT`]: 32 KiB/s, a poor 3G uplink.
pub const BODY_MIN_RATE: u64 = 32 * 1024;

/// A keep-alive connection with no request in progress is closed after this long. Devices sync in bursts of a
/// few round trips; 30 s lets a burst reuse one connection (and one TLS handshake) without holding a slot
/// for a phone that went quiet.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A response write (or flush) that makes no progress for this long is abandoned: the client stopped
/// reading, and its unread response would otherwise hold the connection and its buffers for good.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A TLS handshake must complete within this time; it happens before any HTTP timeout applies.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections open at once. Each costs a file descriptor, a task and a few KiB of buffers (tens of KiB with
/// TLS), so 2,048 stay within a few tens of MiB; a community's phones (hundreds) sync well below it.
pub const MAX_CONNECTIONS: usize = 2048;

/// A connection accepted while [`MAX_CONNECTIONS`] are open waits this long for a slot, then is closed.
/// Only one such connection waits at a time; the rest stay in the kernel's listen backlog, so a flood of
/// connections does not grow the server's memory.
pub const OVER_CAP_WAIT: Duration = Duration::from_millis(250);

/// On shutdown, connections get this long to finish the request in progress before the server exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Largest request head (request line and headers) buffered per connection. The protocol's heads are well
/// under 2 KiB (a bearer token is at most 128 bytes); the default of hyper (~400 KiB) would let stalled
/// connections hold that much each.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The limits and TLS setting of one listener.
#[derive(Clone)]
pub struct TransportConfig {
    /// See [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// See [`BODY_TIMEOUT`].
    pub body_timeout: Duration,
    /// See [`BODY_MIN_RATE`].
    pub body_min_rate: u64,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`WRITE_TIMEOUT`].
    pub write_timeout: Duration,
    /// See [`HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`OVER_CAP_WAIT`].
    pub over_cap_wait: Duration,
    /// See [`SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
    /// TLS server configuration; `None` serves plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            body_min_rate: BODY_MIN_RATE,
            idle_timeout: IDLE_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            over_cap_wait: OVER_CAP_WAIT,
            shutdown_grace: SHUTDOWN_GRACE,
            tls: None,
        }
    }
}

/// Loads a PEM certificate chain and private key into a TLS configuration (HTTP/1.1 over TLS 1.2 or 1.3,
/// with the ring provider that the workspace's HTTP client uses too). Errors: `tls_cert_invalid`,
/// `tls_key_invalid`.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let startup = |code, message: String| ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, code, message);
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| startup(ErrorCode::TlsCertInvalid, format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(startup(ErrorCode::TlsCertInvalid, format!("{}: no certificate", cert.display())));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| startup(ErrorCode::TlsKeyInvalid, format!("{}: {e}", key.display())))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| startup(ErrorCode::TlsCertInvalid, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| startup(ErrorCode::TlsKeyInvalid, format!("{} / {}: {e}", cert.display(), key.display())))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish (at most
/// [`TransportConfig::shutdown_grace`]). Accept errors never end it: they are about that moment (out of file
/// descriptors), not the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: TransportConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let config = Arc::new(config);
    // At least one slot, and no more than the semaphore (and the shutdown's `acquire_many`) can count.
    let max = u32::try_from(config.max_connections.max(1)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut refusals = Refusals::default();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = accept_within_cap(&listener, &slots, config.over_cap_wait) => accepted,
        };
        let (stream, permit) = match accepted {
            Ok(accepted) => accepted,
            Err(refused) => {
                refusals.record(refused);
                continue;
            }
        };
        let (router, config, stop) = (router.clone(), config.clone(), stop_rx.clone());
        tokio::spawn(async move {
            connection(stream, router, &config, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(config.shutdown_grace, slots.acquire_many(max)).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; exiting anyway");
    }
    Ok(())
}

/// Why a connection was not served.
enum Refused {
    /// The accept itself failed (out of file descriptors or memory).
    AcceptFailed(io::Error),
    /// No slot freed within the over-cap wait.
    OverCap,
}

/// Warns about refused connections at most once per [`REFUSAL_LOG_EVERY`], with a count, so that a flood
/// does not turn into a flood of log lines.
#[derive(Default)]
struct Refusals {
    since_warning: u64,
    last_warning: Option<Instant>,
}

/// See [`Refusals`].
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

impl Refusals {
    fn record(&mut self, refused: Refused) {
        self.since_warning += 1;
        if self.last_warning.is_some_and(|at| at.elapsed() < REFUSAL_LOG_EVERY) {
            return;
        }
        match refused {
            Refused::AcceptFailed(e) => {
                tracing::warn!(error = %e, refused = self.since_warning, "accept failed; connections refused")
            }
            Refused::OverCap => {
                tracing::warn!(refused = self.since_warning, "connection limit reached; new connections closed")
            }
        }
        self.since_warning = 0;
        self.last_warning = Some(Instant::now());
    }
}

/// Accepts one connection and a slot for it.
async fn accept_within_cap(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
    over_cap_wait: Duration,
) -> Result<(TcpStream, OwnedSemaphorePermit), Refused> {
    let stream = match listener.accept().await {
        Ok((stream, _)) => stream,
        Err(e) => {
            // Back off instead of spinning until a descriptor frees.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(Refused::AcceptFailed(e));
        }
    };
    let permit = match slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => match tokio::time::timeout(over_cap_wait, slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(Refused::OverCap),
        },
    };
    // Responses are written whole; Nagle's delay would only add latency to small ones.
    let _ = stream.set_nodelay(true);
    Ok((stream, permit))
}

/// One connection: the TLS handshake if configured, then HTTP/1.1 until the client or a limit closes it.
async fn connection(stream: TcpStream, router: Router, config: &TransportConfig, stop: watch::Receiver<bool>) {
    let peer = stream.peer_addr().ok();
    let Some(tls) = &config.tls else {
        return http(stream, peer, router, config, stop).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
    match tokio::time::timeout(config.handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => http(stream, peer, router, config, stop).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!("TLS handshake timed out"),
    }
}

async fn http<S>(
    stream: S,
    peer: Option<std::net::SocketAddr>,
    router: Router,
    config: &TransportConfig,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let phase = Arc::new(ConnPhase::new(config.header_timeout, config.idle_timeout));
    let io = TokioIo::new(Watchdog::new(stream, phase.clone(), config.write_timeout));
    let service = ConnService {
        router,
        peer,
        phase: phase.clone(),
        body_timeout: config.body_timeout,
        body_min_rate: config.body_min_rate,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog times heads (and idle connections); hyper's own head timer would also run while idle.
    builder.header_read_timeout(None).max_buf_size(MAX_HEAD_BYTES);
    let mut conn = pin!(builder.serve_connection(io, service));
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            phase.stopping();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection closed");
    }
}

/// Completes once the listener stops (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// `from + by`, or a year from `from` where that overflows (a limit configured absurdly long).
fn later(from: Instant, by: Duration) -> Instant {
    from.checked_add(by).unwrap_or_else(|| from + Duration::from_secs(365 * 24 * 3600))
}

/// Where a connection is between requests, shared by its IO (which sees bytes) and its service (which sees
/// requests and responses).
struct ConnPhase {
    state: Mutex<PhaseState>,
    header_timeout: Duration,
    idle_timeout: Duration,
}

struct PhaseState {
    phase: Phase,
    /// The task last left waiting on a read: hyper polls the stream again only when woken, so a new read
    /// deadline must wake it to be armed.
    reader: Option<Waker>,
}

#[derive(Clone, Copy)]
enum Phase {
    /// Waiting for a request head to complete, until the deadline.
    Head(Instant),
    /// Keep-alive with no request started, until the deadline.
    Idle(Instant),
    /// A request is being answered: the body has its own deadline, the server's work has none.
    Busy,
}

impl ConnPhase {
    fn new(header_timeout: Duration, idle_timeout: Duration) -> ConnPhase {
        let state = PhaseState { phase: Phase::Head(later(Instant::now(), header_timeout)), reader: None };
        ConnPhase { state: Mutex::new(state), header_timeout, idle_timeout }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PhaseState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, phase: Phase) {
        let reader = {
            let mut state = self.lock();
            state.phase = phase;
            state.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// The server is shutting down: a connection between requests (idle, or with a head still arriving) is
    /// closed now; one answering a request finishes it first (hyper then closes it, keep-alive being off).
    fn stopping(&self) {
        let between_requests = matches!(self.lock().phase, Phase::Head(_) | Phase::Idle(_));
        if between_requests {
            self.set(Phase::Head(Instant::now()));
        }
    }

    /// Bytes arrived: an idle connection has started its next request head.
    fn bytes_read(&self) {
        let mut state = self.lock();
        if let Phase::Idle(_) = state.phase {
            state.phase = Phase::Head(later(Instant::now(), self.header_timeout));
        }
    }

    /// The current read deadline, remembering `waker` to wake when it changes.
    fn read_deadline(&self, waker: &Waker) -> Option<Instant> {
        let mut state = self.lock();
        if !state.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.reader = Some(waker.clone());
        }
        match state.phase {
            Phase::Head(at) | Phase::Idle(at) => Some(at),
            Phase::Busy => None,
        }
    }
}

/// The connection's stream, failing a read that waits past the phase's deadline and a write that makes no
/// progress for `write_timeout`; hyper then closes the connection.
struct Watchdog<S> {
    inner: S,
    phase: Arc<ConnPhase>,
    read_timer: Option<(Instant, Pin<Box<Sleep>>)>,
    write_timeout: Duration,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<S> Watchdog<S> {
    fn new(inner: S, phase: Arc<ConnPhase>, write_timeout: Duration) -> Watchdog<S> {
        Watchdog { inner, phase, read_timer: None, write_timeout, write_timer: None }
    }

    /// Whether the read deadline passed (registering for a wake-up when it will).
    fn read_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.phase.read_deadline(cx.waker()) else { return false };
        let (armed_for, sleep) =
            self.read_timer.get_or_insert_with(|| (deadline, Box::pin(tokio::time::sleep_until(deadline))));
        if *armed_for != deadline {
            *armed_for = deadline;
            sleep.as_mut().reset(deadline);
        }
        sleep.as_mut().poll(cx).is_ready()
    }

    /// Tracks a write's outcome: progress clears the stall timer, a stall past `write_timeout` is an error.
    fn write_outcome<T>(&mut self, cx: &mut Context<'_>, outcome: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if outcome.is_ready() {
            self.write_timer = None;
            return outcome;
        }
        let timeout = self.write_timeout;
        let sleep = self.write_timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client stopped reading the response")));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watchdog<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.phase.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if self.read_expired(cx) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request head or idle timeout")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watchdog<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.write_outcome(cx, outcome)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.write_outcome(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.inner).poll_flush(cx);
        self.write_outcome(cx, outcome)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.write_outcome(cx, outcome)
    }
}

/// The router behind one connection: marks the connection busy per request, gives the body its deadline, and
/// marks the connection idle once the response body is done.
#[derive(Clone)]
struct ConnService {
    router: Router,
    /// The client's address, given to handlers as `ConnectInfo` (the console throttles sign-ins by it).
    peer: Option<std::net::SocketAddr>,
    phase: Arc<ConnPhase>,
    body_timeout: Duration,
    body_min_rate: u64,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.phase.set(Phase::Busy);
        let expired = Arc::new(AtomicBool::new(false));
        let (parts, incoming) = req.into_parts();
        let body = DeadlineBody {
            inner: incoming,
            started: Instant::now(),
            base: self.body_timeout,
            min_rate: self.body_min_rate.max(1),
            received: 0,
            timer: None,
            expired: expired.clone(),
        };
        let mut req = Request::from_parts(parts, Body::new(body));
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        }
        let mut router = self.router.clone();
        let phase = self.phase.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| tower_service::Service::<Request<Body>>::poll_ready(&mut router, cx)).await?;
            let res = tower_service::Service::call(&mut router, req).await?;
            let res = if expired.load(Ordering::Relaxed) { body_timeout_response() } else { res };
            Ok(res.map(|inner| ResponseBody { inner, phase }))
        })
    }
}

/// 408 `body_timeout`, and the connection closes (the rest of the body is not worth reading).
fn body_timeout_response() -> Response<Body> {
    let mut res =
        ServerError::new(StatusCode::REQUEST_TIMEOUT, ErrorCode::BodyTimeout, "the request body arrived too slowly")
            .into_response();
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// A request body that fails once it has taken longer than its deadline: `base` after the head, plus one
/// second per `min_rate` bytes received.
struct DeadlineBody {
    inner: Incoming,
    started: Instant,
    base: Duration,
    min_rate: u64,
    received: u64,
    timer: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl DeadlineBody {
    fn deadline(&self) -> Instant {
        later(self.started, self.base.saturating_add(Duration::from_secs(self.received / self.min_rate)))
    }
}

/// The body's deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("request body timed out")]
struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.expired.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received = self.received.saturating_add(data.len() as u64);
                    let deadline = self.deadline();
                    if let Some(timer) = self.timer.as_mut() {
                        timer.as_mut().reset(deadline);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = self.deadline();
                let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_ready() {
                    self.expired.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(BodyTimedOut.into())));
                }
                Poll::Pending
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

/// A response body that marks its connection idle when hyper is done with it.
struct ResponseBody {
    inner: Body,
    phase: Arc<ConnPhase>,
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.phase.set(Phase::Idle(later(Instant::now(), self.phase.idle_timeout)));
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
