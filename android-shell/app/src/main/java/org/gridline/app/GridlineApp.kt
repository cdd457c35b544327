// The application: opens the encrypted store once (key from the Keystore) and schedules background sync.
package org.gridline.app

import android.app.Application
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import org.gridline.app.data.StoreKey
import org.gridline.app.sync.SyncWorker
import org.gridline.ffi.GridlineStore

class GridlineApp : Application() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    /** The store directory inside app-private storage (excluded from backup: allowBackup=false). */
    val storeDir: String get() = filesDir.resolve("gridline").path

    /** The opened store, or null until enrolled. Opening does I/O: it runs on Dispatchers.IO. */
    lateinit var store: Deferred<GridlineStore?>
        private set

    override fun onCreate() {
        super.onCreate()
        store = scope.async { openIfEnrolled() }
        SyncWorker.schedule(this)
    }

    private fun openIfEnrolled(): GridlineStore? =
        if (filesDir.resolve("gridline/gridline.db").exists()) GridlineStore.open(storeDir, StoreKey.get(this)) else null

    /** Replaces the store after enrollment. */
    fun enrolled(store: GridlineStore) {
        this.store = scope.async { store }
        SyncWorker.runNow(this)
    }
}
