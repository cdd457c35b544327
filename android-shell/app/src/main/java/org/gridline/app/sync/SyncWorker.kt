// Background sync: WorkManager runs it periodically and whenever connectivity returns (network constraint),
// so work done offline reaches the server without the user doing anything.
package org.gridline.app.sync

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.gridline.app.GridlineApp
import org.gridline.app.logic.SyncController
import org.gridline.app.logic.SyncPhase

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result = withContext(Dispatchers.IO) {
        val store = (applicationContext as GridlineApp).store.await() ?: return@withContext Result.success()
        val controller = SyncController(store)
        // The OS may stop the worker (constraints lost, time used up): stop the sync between two steps.
        val phase = try { controller.run() } finally { if (isStopped) controller.cancel() }
        when (phase) {
            is SyncPhase.Done, SyncPhase.Cancelled -> Result.success()
            is SyncPhase.Failed -> if (phase.error.code in RETRYABLE) Result.retry() else Result.failure()
            else -> Result.success()
        }
    }

    companion object {
        private const val PERIODIC = "gridline-sync"
        private const val NOW = "gridline-sync-now"
        private val RETRYABLE = setOf("network_error", "server_unavailable", "sync_protocol")

        private val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        /** Every 15 minutes while online; WorkManager also runs it as soon as the network returns. */
        fun schedule(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(online)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /** A sync as soon as the network allows (after enrollment, after a save, on "sync now"). */
        fun runNow(context: Context) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>().setConstraints(online).build()
            WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.REPLACE, request)
        }
    }
}
