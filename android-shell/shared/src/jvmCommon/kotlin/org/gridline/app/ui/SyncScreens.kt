// The sync status screen: when the phone last synced, what waits for upload, a sync with progress and cancel.
// Background sync (WorkManager) is the Android app's; this runs one sync in the foreground when asked.
package org.gridline.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.logic.SyncController
import org.gridline.app.logic.SyncPhase
import org.gridline.app.logic.SyncScreen
import org.gridline.ffi.GridlineStore

/** The sync screen's state: the store's sync status and the phase of a sync started here. */
class SyncModel(private val store: GridlineStore, scope: CoroutineScope, io: CoroutineDispatcher) : ScreenModel(scope, io) {
    private val _state = MutableStateFlow(SyncScreen(SyncPhase.Idle, null, 0u, 0u))
    val state: StateFlow<SyncScreen> = _state
    private var controller: SyncController? = null

    fun refreshStatus() {
        scope.launch {
            val status = withContext(io) { runCatching { store.syncStatus() }.getOrNull() }
            status?.let {
                _state.value = _state.value.copy(lastSyncAt = it.lastSyncAt, pendingDocuments = it.pendingDocuments, pendingPhotos = it.pendingPhotos)
            }
        }
    }

    fun syncNow() {
        val c = SyncController(store) { phase -> _state.value = _state.value.copy(phase = phase) }
        controller = c
        scope.launch {
            withContext(io) { c.run() }
            refreshStatus()
        }
    }

    fun cancel() = controller?.cancel()
}

@Composable
fun SyncRoute(store: GridlineStore, modifier: Modifier) {
    val model = rememberModel("sync") { scope, io -> SyncModel(store, scope, io) }
    LaunchedEffect(model) { model.refreshStatus() }
    val s by model.state.collectAsState()
    SyncView(s, model::syncNow, { model.cancel() }, modifier)
}

@Composable
fun SyncView(s: SyncScreen, onSync: () -> Unit, onCancel: () -> Unit, modifier: Modifier = Modifier) {
    Column(modifier.padding(16.dp)) {
        Heading(
            s.lastSyncAt?.let { str("sync_last", time(it)) } ?: str("sync_never"),
            MaterialTheme.typography.titleMedium,
        )
        Text(str("sync_pending", s.pendingDocuments.toInt(), s.pendingPhotos.toInt()))
        Text(str("sync_background"), style = MaterialTheme.typography.bodySmall, modifier = Modifier.padding(vertical = 8.dp))
        when (val p = s.phase) {
            is SyncPhase.Running -> {
                Text(str("sync_running"))
                val progress = s.progress
                if (progress != null) {
                    LinearProgressIndicator(progress = { progress }, modifier = Modifier.fillMaxWidth())
                } else {
                    LinearProgressIndicator(Modifier.fillMaxWidth())
                }
                OutlinedButton(onClick = onCancel, modifier = MinTouchTarget) { Text(str("sync_cancel")) }
            }
            is SyncPhase.Failed -> {
                ErrorText(p.error)
                Button(onClick = onSync, modifier = MinTouchTarget) { Text(str("retry")) }
            }
            is SyncPhase.Done -> {
                Text(str("sync_done"))
                Button(onClick = onSync, modifier = MinTouchTarget.fillMaxWidth()) { Text(str("sync_now")) }
            }
            else -> Button(onClick = onSync, modifier = MinTouchTarget.fillMaxWidth()) { Text(str("sync_now")) }
        }
    }
}
