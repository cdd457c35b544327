//! Enrollment and sync: progress goes to a foreign `SyncObserver`, cancellation through a `SyncCancel`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gridline_core::sync::client::{SyncProgress, SyncReport, SyncStage};

/// Receives sync progress. Implemented by the shell (Kotlin, Swift, Python); called on the thread running
/// `GridlineStore.sync`, after each document round and each photo — hop to the UI thread to show it.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// Where the sync is, with the totals so far.
    fn on_progress(&self, stage: SyncStage, so_far: SyncReport);
}

/// A switch the shell flips to stop a running sync between two steps (the user pressed cancel, the OS is
/// ending background time). Work already exchanged is kept; the sync ends with `sync_cancelled`.
#[derive(uniffi::Object, Default)]
pub struct SyncCancel {
    cancelled: AtomicBool,
}

#[uniffi::export]
impl SyncCancel {
    /// A switch that is not flipped.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SyncCancel::default())
    }

    /// Asks the sync using this switch to stop. Memory only; safe from any thread.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether cancel was asked.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl SyncCancel {
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.cancelled
    }
}

/// The core's progress trait, forwarded to the shell's observer.
pub(crate) struct Forward(pub Option<Arc<dyn SyncObserver>>);

impl SyncProgress for Forward {
    fn on_progress(&self, stage: SyncStage, so_far: &SyncReport) {
        if let Some(observer) = &self.0 {
            observer.on_progress(stage, so_far.clone());
        }
    }
}
