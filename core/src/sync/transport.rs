//! How the device reaches the server: the [`Transport`] trait the sync client speaks through (HTTP in
//! `sync::http`, an in-process peer in tests), the request tuning of a sync run, and the retry with backoff
//! around every request. The request and answer bodies are the wire types of `sync::protocol`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::protocol::{DeviceKey, EnrollRequest, EnrollResponse};
use crate::error::{Error, Result};

/// How the device reaches the server. `sync::http::HttpTransport` speaks HTTP; the core's tests plug in an
/// in-process peer. `Error::Network`, `Error::ServerUnavailable` and `Error::RateLimited` are retried with
/// backoff; every other error is final.
pub trait Transport {
    /// True when an answer can only have come from the enrolled server (TLS, loopback, in-process): only
    /// then does `device_revoked` erase the store.
    fn authenticated(&self) -> bool;
    /// `GET /v1/keys` with the ETag of the list last stored: `None` when unchanged, else the community's
    /// device keys and the new ETag.
    fn device_keys(&self, etag: Option<&str>) -> Result<Option<(Vec<DeviceKey>, Option<String>)>>;
    /// `POST /v1/enroll`.
    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse>;
    /// `POST /v1/sync` with an encoded [`SyncRequest`](super::protocol::SyncRequest) body; returns the encoded
    /// [`SyncResponse`](super::protocol::SyncResponse) body.
    fn sync(&self, body: &[u8]) -> Result<Vec<u8>>;
    /// `HEAD /v1/blobs/{sha256}`: whether the server already has the blob.
    fn blob_exists(&self, hash: &str) -> Result<bool>;
    /// `PUT /v1/blobs/{sha256}`.
    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8]) -> Result<()>;
    /// `GET /v1/blobs/{sha256}`.
    fn get_blob(&self, hash: &str) -> Result<Vec<u8>>;
}

/// Tuning of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Attempts per request before a network error or 5xx is final.
    pub max_attempts: u32,
    /// First backoff delay; doubled on each retry, with full jitter.
    pub base_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Most rounds in one sync (a guard against a peer that never settles).
    pub max_rounds: u32,
    /// Most messages for one document in one sync.
    pub max_messages_per_doc: u32,
    /// Largest sum of message bytes in one request before the rest waits for the next round.
    pub max_request_bytes: usize,
    /// Longest `Retry-After` a sync waits out; a server asking for more ends the sync with `rate_limited`.
    pub max_retry_after: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_rounds: 32,
            max_messages_per_doc: 4,
            max_request_bytes: 8 * 1024 * 1024,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

fn retryable(e: &Error) -> bool {
    matches!(e, Error::Network(_) | Error::ServerUnavailable(_) | Error::RateLimited { .. })
}

/// Exponential backoff with full jitter: a random delay in `[0, min(max, base · 2^attempt)]`.
fn backoff(opts: &SyncOptions, attempt: u32) -> Duration {
    let ceiling = opts.base_delay.saturating_mul(1u32 << attempt.min(16)).min(opts.max_delay);
    let mut r = [0u8; 4];
    let fraction = match getrandom::fill(&mut r) {
        Ok(()) => f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    };
    ceiling.mul_f64(fraction)
}

/// The wait before the next attempt: the server's `Retry-After` (when it asked, at most
/// `opts.max_retry_after`) plus this device's own jittered backoff, so devices told the same time do not
/// all come back at once. `None` when the server asks for longer than a sync waits.
fn retry_delay(opts: &SyncOptions, attempt: u32, e: &Error) -> Option<Duration> {
    let asked = match e {
        Error::RateLimited { retry_after_secs: Some(secs) } => Duration::from_secs(*secs),
        _ => Duration::ZERO,
    };
    (asked <= opts.max_retry_after).then(|| asked + backoff(opts, attempt))
}

/// Runs `f`, retrying network errors, 5xx and 429 with backoff; the cancel flag is checked before each wait.
pub(crate) fn with_retry<T>(opts: &SyncOptions, cancel: &AtomicBool, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if retryable(&e) && attempt + 1 < opts.max_attempts => {
                if cancel.load(Ordering::Relaxed) {
                    return Err(Error::SyncCancelled);
                }
                let Some(delay) = retry_delay(opts, attempt, &e) else { return Err(e) };
                std::thread::sleep(delay);
                attempt += 1;
            }
            other => return other,
        }
    }
}
