//! Helpers the server's load benches share (`load`, `scale`): a work queue over threads, percentiles, and a
//! figure of a server's `/metrics`.

// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

/// The `p` quantile (0.0–1.0) of ascending `sorted`; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` on every item, `threads` at a time (items are taken from the end of `items`).
pub fn parallel<T: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) + Sync) {
    let queue = Mutex::new(items);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some(item) = queue.lock().expect("queue").pop() else { break };
                f(item);
            });
        }
    });
}

/// A gauge or counter of the `/metrics` listener at `addr`.
pub fn metric(http: &reqwest::blocking::Client, addr: &str, name: &str) -> Option<u64> {
    let text = http.get(format!("http://{addr}/metrics")).send().ok()?.text().ok()?;
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
