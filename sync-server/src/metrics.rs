//! Counters exposed at `GET /metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP requests answered.
    pub requests: AtomicU64,
    /// Requests answered with a 4xx or 5xx.
    pub errors: AtomicU64,
    /// Sync rounds served.
    pub sync_rounds: AtomicU64,
    /// Documents written by sync rounds.
    pub docs_written: AtomicU64,
    /// Changes stored.
    pub changes_stored: AtomicU64,
    /// Request body bytes received.
    pub bytes_in: AtomicU64,
    /// Response body bytes sent by sync and blob downloads.
    pub bytes_out: AtomicU64,
    /// Blobs stored.
    pub blobs_stored: AtomicU64,
    /// Documents of sync rounds whose changes were dropped for waiting on missing dependencies.
    pub missing_dependencies: AtomicU64,
    /// Catalogue versions the console's replicas have still to merge (a gauge, set by the feed).
    pub replica_behind: AtomicU64,
    /// Documents merged into the console's replicas.
    pub replica_merged: AtomicU64,
    /// Writes other processes announced to this one (PostgreSQL), and reconnections of the listener.
    pub writes_heard: AtomicU64,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the number of stored documents as a gauge.
    pub fn render(&self, documents: u64) -> String {
        let mut out = String::new();
        let counters = [
            ("gridline_http_requests_total", "HTTP requests answered", &self.requests),
            ("gridline_http_errors_total", "HTTP requests answered with a 4xx or 5xx", &self.errors),
            ("gridline_sync_rounds_total", "Sync rounds served", &self.sync_rounds),
            ("gridline_sync_docs_written_total", "Documents written by sync rounds", &self.docs_written),
            ("gridline_changes_stored_total", "Automerge changes stored", &self.changes_stored),
            ("gridline_bytes_in_total", "Request body bytes received", &self.bytes_in),
            ("gridline_bytes_out_total", "Response body bytes sent", &self.bytes_out),
            ("gridline_blobs_stored_total", "Blobs stored", &self.blobs_stored),
            (
                "gridline_sync_missing_dependencies_total",
                "Documents whose round was dropped for missing dependencies",
                &self.missing_dependencies,
            ),
            (
                "gridline_console_replica_merged_total",
                "Documents merged into the console's replicas",
                &self.replica_merged,
            ),
            (
                "gridline_writes_heard_total",
                "Writes announced by other server instances on the same database",
                &self.writes_heard,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", c.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP gridline_documents Documents stored\n# TYPE gridline_documents gauge\ngridline_documents {documents}"
        );
        let behind = self.replica_behind.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP gridline_console_replica_behind Catalogue versions the console's replicas have still to merge\n\
             # TYPE gridline_console_replica_behind gauge\ngridline_console_replica_behind {behind}"
        );
        out
    }

    /// Appends the admission figures: device work running and waiting (gauges) and requests shed.
    pub fn render_admission(&self, out: &mut String, admission: &crate::limits::Admission) {
        let _ = writeln!(
            out,
            "# HELP gridline_work_running Device requests' work running now\n\
             # TYPE gridline_work_running gauge\ngridline_work_running {}\n\
             # HELP gridline_work_waiting Device requests' work waiting for a turn\n\
             # TYPE gridline_work_waiting gauge\ngridline_work_waiting {}\n\
             # HELP gridline_shed_total Device requests answered 429 because the server was busy\n\
             # TYPE gridline_shed_total counter\ngridline_shed_total {}",
            admission.running(),
            admission.waiting(),
            admission.shed()
        );
    }
}
