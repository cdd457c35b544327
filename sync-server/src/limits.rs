//! What one device may do: requests per second (a token bucket per device, in memory) and daily quotas
//! (new documents, bytes per document, blob bytes; counted in storage inside the write that spends them).
//! Both are answered with 429 and `Retry-After`, which the device's backoff honours.

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
