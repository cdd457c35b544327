// Enrollment (server address + one-time code) and the sync status screen with progress and cancel.
package org.gridline.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.GridlineApp
import org.gridline.app.R
import org.gridline.app.data.StoreKey
import org.gridline.app.logic.ErrorMessages
import org.gridline.app.logic.ScreenError
import org.gridline.app.logic.SyncController
import org.gridline.app.logic.SyncPhase
import org.gridline.app.logic.SyncScreen
import org.gridline.ffi.GridlineException
import org.gridline.ffi.GridlineStore

@Composable
fun EnrollScreen(app: GridlineApp, onEnrolled: (GridlineStore) -> Unit) {
    var url by remember { mutableStateOf("https://") }
    var code by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<ScreenError?>(null) }
    val scope = rememberCoroutineScope()
    Column(Modifier.padding(16.dp)) {
        Text(stringResource(R.string.enroll_title))
        OutlinedTextField(url, { url = it }, label = { Text(stringResource(R.string.enroll_server)) })
        OutlinedTextField(code, { code = it }, label = { Text(stringResource(R.string.enroll_code)) })
        Button(onClick = {
            scope.launch {
                try {
                    val store = withContext(Dispatchers.IO) { GridlineStore.enroll(app.storeDir, StoreKey.get(app), url.trim(), code.trim()) }
                    app.enrolled(store)
                    onEnrolled(store)
                } catch (e: GridlineException) {
                    error = ErrorMessages.of(e)
                }
            }
        }) { Text(stringResource(R.string.save)) }
        error?.let { ErrorText(it) }
    }
}

class SyncViewModel(private val app: GridlineApp, private val store: GridlineStore) : ViewModel() {
    private val _state = MutableStateFlow(SyncScreen(SyncPhase.Idle, null, 0u, 0u))
    val state: StateFlow<SyncScreen> = _state
    private var controller: SyncController? = null

    init { refreshStatus() }

    private fun refreshStatus() = viewModelScope.launch {
        val status = withContext(Dispatchers.IO) { runCatching { store.syncStatus() }.getOrNull() }
        status?.let { _state.value = _state.value.copy(lastSyncAt = it.lastSyncAt, pendingDocuments = it.pendingDocuments, pendingPhotos = it.pendingPhotos) }
    }

    fun syncNow() {
        val c = SyncController(store) { phase -> _state.value = _state.value.copy(phase = phase) }
        controller = c
        viewModelScope.launch {
            withContext(Dispatchers.IO) { c.run() }
            refreshStatus()
        }
    }

    fun cancel() = controller?.cancel()
}

@Composable
fun SyncScreen(vm: SyncViewModel) {
    val s by vm.state.collectAsState()
    Column(Modifier.padding(16.dp)) {
        Text(s.lastSyncAt?.let { stringResource(R.string.sync_last, it.take(16)) } ?: stringResource(R.string.sync_never))
        Text(stringResource(R.string.sync_pending, s.pendingDocuments.toInt(), s.pendingPhotos.toInt()))
        when (val p = s.phase) {
            is SyncPhase.Running -> {
                Text(stringResource(R.string.sync_running))
                s.progress?.let { LinearProgressIndicator(progress = { it }) } ?: LinearProgressIndicator()
                OutlinedButton(onClick = { vm.cancel() }) { Text(stringResource(R.string.sync_cancel)) }
            }
            is SyncPhase.Failed -> { ErrorText(p.error); Button(onClick = vm::syncNow) { Text(stringResource(R.string.retry)) } }
            else -> Button(onClick = vm::syncNow) { Text(stringResource(R.string.sync_now)) }
        }
    }
}
