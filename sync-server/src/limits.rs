//! What one device may do: requests per second (a token bucket per device, in memory) and daily quotas
//! (new documents, bytes per document, blob bytes; counted in storage inside the write that spends them);
//! and what the whole server takes on at once ([`Admission`]: work in flight and a bounded wait for it, so
//! overload is shed before latency and memory run away). All are answered with 429 and `Retry-After`, which
//! the device's jittered backoff honours.

use gridline_core::ErrorCode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use crate::error::ServerError;
use crate::storage::QuotaExceeded;

/// Daily quotas per device. The defaults are far above an honest phone's day — a grid leader writes one
/// check-in log, a few incidents and visits, and a few dozen photos — and far below what fills a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// New documents one device may create per day (incidents, daily logs).
    pub new_documents_per_day: u64,
    /// Change bytes one device may add to one document per day.
    pub document_bytes_per_day: u64,
    /// Blob (photo) bytes one device may upload per day.
    pub blob_bytes_per_day: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            new_documents_per_day: 2_000,
            document_bytes_per_day: 32 * 1024 * 1024,
            blob_bytes_per_day: 512 * 1024 * 1024,
        }
    }
}

/// Seconds from `now` to the next UTC midnight, when daily quotas start again.
fn seconds_to_midnight(now: DateTime<Utc>) -> u64 {
    let secs = now.timestamp().rem_euclid(86_400);
    u64::try_from(86_400 - secs).unwrap_or(1).max(1)
}

impl Quotas {
    /// The 429 answer for a quota a write would pass.
    pub fn refusal(&self, exceeded: QuotaExceeded, now: DateTime<Utc>) -> ServerError {
        let what = match exceeded {
            QuotaExceeded::NewDocuments => format!("more than {} new documents today", self.new_documents_per_day),
            QuotaExceeded::DocumentBytes => {
                format!("more than {} bytes added to one document today", self.document_bytes_per_day)
            }
            QuotaExceeded::BlobBytes => format!("more than {} photo bytes today", self.blob_bytes_per_day),
        };
        ServerError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::QuotaExceeded, format!("this device sent {what}"))
            .retry_after(seconds_to_midnight(now))
    }
}

/// Requests per second per device: a bucket of `burst` tokens refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell (a sync's rounds plus its photo uploads).
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        // An honest sync is a few rounds plus one request per photo: bursts of tens, then silence.
        RateLimit { per_second: 10.0, burst: 60.0 }
    }
}

/// Operations of a device's sync messages that cost one request token: an honest week offline (about 15,000
/// operations) costs 30, within a burst; the largest message the validator allows costs 300, i.e. about
/// 25 s of the device's requests.
pub const OPERATIONS_PER_TOKEN: u64 = 500;

/// Longest a device's debt may make it wait, in seconds.
const MAX_DEBT_SECONDS: f64 = 600.0;

/// Most devices tracked before buckets that are full again are forgotten (bounded memory).
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per device id.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter enforcing `limit` per device.
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Charges `tokens` more to `device_id` for work its request turned out to cost (the operations of its
    /// sync messages): the bucket may go into debt, and the device's next requests wait until it is repaid.
    /// So one device's costly messages cannot keep the server's cores busy, however few requests it makes.
    pub fn charge(&self, device_id: &str, tokens: f64, now: Instant) {
        if tokens <= 0.0 {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(device_id.to_string()).or_insert(Bucket { tokens: self.limit.burst, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.limit.per_second;
        let floor = -MAX_DEBT_SECONDS * self.limit.per_second;
        bucket.tokens = ((bucket.tokens + refill).min(self.limit.burst) - tokens).max(floor);
        bucket.at = now;
    }

    /// Spends one request of `device_id`, or answers 429 `rate_limited` with the seconds until a token is
    /// back.
    pub fn check(&self, device_id: &str, now: Instant) -> Result<(), ServerError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(device_id) {
            let (rate, burst) = (self.limit.per_second, self.limit.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(device_id.to_string()).or_insert(Bucket { tokens: self.limit.burst, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.limit.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.limit.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.limit.per_second).ceil().max(1.0) as u64;
        Err(ServerError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many requests from this device",
        )
        .retry_after(wait))
    }
}

/// How much device work the server takes on at once. Work beyond [`Admission::in_flight`] waits its turn,
/// but only while fewer than [`Admission::max_waiting`] wait and for at most [`Admission::max_wait`]: past
/// either, the request is answered 429 `rate_limited` with a `Retry-After` that grows with the queue, before
/// it holds a thread or a database connection. A request refused here costs the server one atomic
/// increment, so a flood answered this way stays cheap, and work admitted finishes in bounded time.
#[derive(Debug)]
pub struct Admission {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    shed: std::sync::atomic::AtomicU64,
    /// Pieces of work run at once.
    pub in_flight: usize,
    /// Most pieces of work waiting for a turn.
    pub max_waiting: usize,
    /// Longest a piece of work waits for its turn.
    pub max_wait: std::time::Duration,
}

/// The defaults of [`Admission`]: as much work at once as the server has blocking threads (console work
/// then never waits behind a queue of device work), 256 waiting, one second of waiting at most.
pub const ADMISSION_WAITING: usize = 256;
/// See [`ADMISSION_WAITING`].
pub const ADMISSION_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Longest `Retry-After` an overloaded server asks for.
const MAX_BUSY_RETRY: u64 = 30;

/// Decrements the waiting count when a wait ends, however it ends.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Admission {
    /// At most `in_flight` (at least one) pieces of work at once, `max_waiting` waiting at most `max_wait`.
    pub fn new(in_flight: usize, max_waiting: usize, max_wait: std::time::Duration) -> Admission {
        let in_flight = in_flight.max(1);
        Admission {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(in_flight)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            shed: std::sync::atomic::AtomicU64::new(0),
            in_flight,
            max_waiting,
            max_wait,
        }
    }

    /// A turn for one piece of work (held until the permit drops), or the 429 that sheds it.
    pub async fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ServerError> {
        use std::sync::atomic::Ordering;
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        if ahead < self.max_waiting {
            if let Ok(Ok(permit)) = tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
                return Ok(permit);
            }
        }
        self.shed.fetch_add(1, Ordering::Relaxed);
        // The queue drains about `in_flight` pieces per turn of work (tens of milliseconds): a device told
        // to wait a second per ten turns ahead of it finds room, and the jitter it adds spreads the crowd.
        let retry = (1 + ahead / (self.in_flight * 10)) as u64;
        Err(ServerError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "the server is busy")
            .retry_after(retry.min(MAX_BUSY_RETRY)))
    }

    /// Pieces of work waiting for a turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Pieces of work running now.
    pub fn running(&self) -> usize {
        self.in_flight.saturating_sub(self.slots.available_permits())
    }

    /// Requests shed since the start.
    pub fn shed(&self) -> u64 {
        self.shed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn work_past_the_queue_or_the_wait_is_shed_with_a_retry_after() {
        let gate = Admission::new(1, 1, Duration::from_millis(200));
        let running = gate.admit().await.expect("a free slot");
        assert_eq!(gate.running(), 1);
        // The second waits its turn; a third finds the queue full and is shed at once.
        let gate = std::sync::Arc::new(gate);
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        assert_eq!(gate.waiting(), 1);
        let third = gate.admit().await.expect_err("the queue is full");
        assert_eq!((third.status.as_u16(), third.code, third.retry_after), (429, ErrorCode::RateLimited, Some(1)));
        // The second waited its 200 ms without a turn: shed too.
        let second = second.await.expect("joined").expect_err("waited too long");
        assert_eq!(second.retry_after, Some(1));
        assert_eq!((gate.waiting(), gate.shed()), (0, 2));
        // Once the running work ends, the next one gets its turn.
        drop(running);
        let _next = gate.admit().await.expect("a slot again");
    }

    #[tokio::test]
    async fn waiting_work_gets_the_slot_that_frees() {
        let gate = std::sync::Arc::new(Admission::new(1, 4, Duration::from_secs(10)));
        let running = gate.admit().await.expect("a free slot");
        let next = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(running);
        next.await.expect("joined").expect("admitted within its wait");
        assert_eq!(gate.shed(), 0);
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limiter = RateLimiter::new(RateLimit { per_second: 2.0, burst: 3.0 });
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check("d1", t0).expect("within the burst");
        }
        let refused = limiter.check("d1", t0).expect_err("burst spent");
        assert_eq!((refused.code, refused.retry_after), (ErrorCode::RateLimited, Some(1)));
        limiter.check("d2", t0).expect("another device has its own bucket");
        limiter.check("d1", t0 + Duration::from_millis(600)).expect("a token came back");
        assert!(limiter.check("d1", t0 + Duration::from_millis(700)).is_err());
    }

    #[test]
    fn costly_work_is_a_debt_the_next_requests_wait_for() {
        let limiter = RateLimiter::new(RateLimit { per_second: 10.0, burst: 60.0 });
        let t0 = Instant::now();
        limiter.check("d1", t0).expect("first request");
        limiter.charge("d1", 150.0, t0);
        let refused = limiter.check("d1", t0).expect_err("in debt");
        assert_eq!(refused.retry_after, Some(10), "91 tokens of debt at 10 a second");
        limiter.check("d1", t0 + Duration::from_secs(10)).expect("repaid");
        limiter.check("d2", t0).expect("another device owes nothing");
    }

    #[test]
    fn quota_refusals_wait_until_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T23:00:00Z").expect("time").with_timezone(&Utc);
        let e = Quotas::default().refusal(QuotaExceeded::BlobBytes, now);
        assert_eq!((e.status.as_u16(), e.code, e.retry_after), (429, ErrorCode::QuotaExceeded, Some(3600)));
    }
}
