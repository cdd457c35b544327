//! Time comes from a clock passed in, so rules and tests control it (never `Local::now()` in a rule).

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant (tests, scripted runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock a test sets and moves by hand: the store's tests script a day with it.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct TestClock(std::sync::Mutex<DateTime<Utc>>);

#[cfg(test)]
impl TestClock {
    /// A clock at 09:00 on 24 November 2026 in Shanghai, the morning the store's tests start from.
    pub(crate) fn morning() -> std::sync::Arc<Self> {
        let t = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time").with_timezone(&Utc);
        std::sync::Arc::new(Self(std::sync::Mutex::new(t)))
    }

    /// Moves the clock on by `by`.
    pub(crate) fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

#[cfg(test)]
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}
