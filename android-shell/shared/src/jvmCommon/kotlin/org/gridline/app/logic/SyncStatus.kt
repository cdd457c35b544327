// What the sync screen and the background worker show and decide: idle, running with progress, done, failed.
// The sync itself (rounds, retries, blobs) is the core's; this only tracks one run for display.
package org.gridline.app.logic

import org.gridline.core.ErrorCode
import org.gridline.core.SyncReport
import org.gridline.core.SyncStage
import org.gridline.ffi.GridlineException
import org.gridline.ffi.GridlineStore
import org.gridline.ffi.SyncCancel
import org.gridline.ffi.SyncObserver

/** Where the last or current sync is. */
sealed interface SyncPhase {
    data object Idle : SyncPhase
    /** Running: the latest stage reported and the totals so far (null before the first report). */
    data class Running(val stage: SyncStage?, val soFar: SyncReport?) : SyncPhase
    data class Done(val report: SyncReport) : SyncPhase
    data object Cancelled : SyncPhase
    data class Failed(val error: ScreenError) : SyncPhase
}

/** The sync screen's state. */
data class SyncScreen(
    val phase: SyncPhase,
    /** RFC 3339 time of the last sync that finished, or null: never. */
    val lastSyncAt: String?,
    /** Records changed here and not yet on the server. */
    val pendingDocuments: UInt,
    /** Photos waiting for upload. */
    val pendingPhotos: UInt,
) {
    /** The progress bar's fraction while photos move, else null (document rounds have no known total). */
    val progress: Float?
        get() = ((phase as? SyncPhase.Running)?.stage as? SyncStage.Blobs)?.let { b ->
            if (b.total == 0u) null else b.done.toFloat() / b.total.toFloat()
        }

    /** Whether the worker should ask WorkManager to retry later (network trouble, not a refusal). */
    val retryLater: Boolean get() = (phase as? SyncPhase.Failed)?.error?.handling == ErrorHandling.RETRY_LATER &&
        phase.error.code != ErrorCode.SYNC_CANCELLED
}

/**
 * Runs one sync and reports each step to `onChange`. `run` blocks for the whole sync (network I/O): call it
 * from a background dispatcher or a WorkManager worker; `cancel` may be called from any thread.
 */
class SyncController(private val store: GridlineStore, private val onChange: (SyncPhase) -> Unit = {}) {
    private val cancel = SyncCancel()

    fun cancel() = cancel.cancel()

    fun run(): SyncPhase {
        onChange(SyncPhase.Running(null, null))
        val observer = object : SyncObserver {
            override fun onProgress(stage: SyncStage, soFar: SyncReport) = onChange(SyncPhase.Running(stage, soFar))
        }
        val end = try {
            SyncPhase.Done(store.sync(observer, cancel))
        } catch (e: GridlineException) {
            if (e.errorCode == ErrorCode.SYNC_CANCELLED) SyncPhase.Cancelled else SyncPhase.Failed(ErrorMessages.of(e))
        }
        onChange(end)
        return end
    }
}
