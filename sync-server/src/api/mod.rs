//! The HTTP API under `/v1/` (see `PROTOCOL.md`), plus `/healthz`; `/metrics` has its own listener (`ops`).

mod blobs;
mod enroll;
mod keys;
pub mod ops;
mod sync;

pub use blobs::blob_in_scope;

use gridline_core::ErrorCode;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use gridline_core::Clock;

use crate::engine::Engine;
use crate::error::{Result, ServerError};
use crate::limits::{Admission, RateLimit, RateLimiter, ADMISSION_WAIT, ADMISSION_WAITING};

/// Threads `serve` gives blocking engine work (documents sync in parallel; each thread also costs its own
/// malloc arena, so the pool stays small on a 2-core machine), and by default the device work admitted at
/// once: console work then finds a thread without queueing behind devices.
pub const BLOCKING_THREADS: usize = 4;
use crate::metrics::Metrics;
use crate::storage::Device;

/// Shared state of the running server.
pub struct App {
    /// The engine (storage + document cache), shared by every request: it locks per document inside.
    pub engine: Engine,
    /// Counters.
    pub metrics: Metrics,
    /// The clock (enrollment code expiry, receipt times, quotas).
    pub clock: Arc<dyn Clock>,
    /// Requests per second per device (shared with the engine, which charges costly messages to it).
    pub rate: Arc<RateLimiter>,
    /// How much device work runs at once, and how much may wait (overload is shed with 429).
    pub admission: Admission,
}

impl App {
    /// The server's state over `engine`, with the default rate limit.
    pub fn new(engine: Engine, clock: Arc<dyn Clock>) -> App {
        App::with_rate(engine, clock, RateLimit::default())
    }

    /// The server's state with `rate` per device, charged for requests and for the work of sync messages.
    pub fn with_rate(engine: Engine, clock: Arc<dyn Clock>, rate: RateLimit) -> App {
        let rate = Arc::new(RateLimiter::new(rate));
        let engine = engine.with_work_charged_to(rate.clone());
        let admission = Admission::new(BLOCKING_THREADS, ADMISSION_WAITING, ADMISSION_WAIT);
        App { engine, metrics: Metrics::default(), clock, rate, admission }
    }

    /// The server's state with another admission of device work.
    pub fn with_admission(mut self, admission: Admission) -> App {
        self.admission = admission;
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The device presenting the request's token, within its rate limit; run before any body is read.
    pub async fn device(self: &Arc<Self>, headers: &HeaderMap) -> Result<Device> {
        let headers = headers.clone();
        let device = self.blocking(move |app| authenticate(app.engine(), &headers)).await?;
        self.rate.check(&device.device_id, Instant::now())?;
        Ok(device)
    }

    /// Runs a device request's blocking engine work off the async threads, once [`App::admission`] gives it
    /// a turn (or answers the 429 that sheds it).
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let turn = self.admission.admit().await?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            f(&app)
        })
        .await
        .map_err(ServerError::internal)?
    }

    /// Runs the server's own blocking work (metrics, compaction) without waiting for admission: it is
    /// bounded by the server, and must go on while devices are shed.
    pub async fn blocking_own<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(&app)).await.map_err(ServerError::internal)?
    }
}

/// The router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/v1/enroll", post(enroll::enroll))
        .route("/v1/sync", post(sync::sync))
        .route("/v1/keys", get(keys::keys))
        .route("/v1/blobs/{sha256}", put(blobs::put_blob).get(blobs::get_blob).head(blobs::head_blob))
        .fallback(|| async { ServerError::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(app.clone(), count_requests))
        .with_state(app)
}

async fn count_requests(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    Metrics::add(&app.metrics.requests, 1);
    if res.status().is_client_error() || res.status().is_server_error() {
        Metrics::add(&app.metrics.errors, 1);
        tracing::info!(%method, %path, status = res.status().as_u16(), "refused");
    } else {
        tracing::debug!(%method, %path, status = res.status().as_u16(), "served");
    }
    res
}

/// Reads a whole body, refusing more than `limit` bytes with 413 `code`.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize, code: ErrorCode) -> Result<Bytes> {
    let too_large = || ServerError::new(StatusCode::PAYLOAD_TOO_LARGE, code, format!("body over {limit} bytes"));
    let declared = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| too_large())
}

/// The device presenting `Authorization: Bearer <token>`: 401 `unauthorized` for a missing or unknown token,
/// 403 `device_revoked` for a revoked device (it wipes its store on this code).
pub fn authenticate(engine: &Engine, headers: &HeaderMap) -> Result<Device> {
    let unauthorized =
        || ServerError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, "missing or unknown device token");
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or_else(unauthorized)?;
    let device = engine.storage().device_by_token_hash(&crate::access::hash_secret(token))?.ok_or_else(unauthorized)?;
    if device.revoked {
        return Err(ServerError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceRevoked,
            "this device was revoked: wipe the local store",
        ));
    }
    Ok(device)
}
