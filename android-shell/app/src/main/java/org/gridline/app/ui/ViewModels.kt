// Android view-models: each holds a presenter from the pure-Kotlin layer and runs it on Dispatchers.IO
// (every binding call does disk I/O). No logic here: it is in the core and in org.gridline.app.logic.
package org.gridline.app.ui

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.logic.CheckInFormState
import org.gridline.app.logic.CheckInResult
import org.gridline.app.logic.HouseholdPresenter
import org.gridline.app.logic.RoundsPresenter
import org.gridline.app.logic.RoundsScreen
import org.gridline.app.logic.ScreenState
import org.gridline.core.HouseholdDetail
import org.gridline.ffi.GridlineStore

/** Runs `block` on the I/O dispatcher and publishes its result. */
internal fun <T> ViewModel.io(into: MutableStateFlow<T>, block: () -> T) {
    viewModelScope.launch { into.value = withContext(Dispatchers.IO) { block() } }
}

class RoundsViewModel(store: GridlineStore) : ViewModel() {
    private val presenter = RoundsPresenter(store)
    private val _state = MutableStateFlow<ScreenState<RoundsScreen>>(ScreenState.Loading)
    val state: StateFlow<ScreenState<RoundsScreen>> = _state

    init { refresh() }

    fun refresh() = io(_state) { presenter.load() }
}

class HouseholdViewModel(store: GridlineStore, householdCode: String) : ViewModel() {
    private val presenter = HouseholdPresenter(store, householdCode)
    private val _state = MutableStateFlow<ScreenState<HouseholdDetail>>(ScreenState.Loading)
    val state: StateFlow<ScreenState<HouseholdDetail>> = _state
    private val _form = MutableStateFlow(presenter.newForm())
    val form: StateFlow<CheckInFormState> = _form
    private val _result = MutableStateFlow<CheckInResult?>(null)
    val result: StateFlow<CheckInResult?> = _result

    init { refresh() }

    fun refresh() = io(_state) { presenter.load() }

    fun edit(change: (CheckInFormState) -> CheckInFormState) { _form.value = change(_form.value) }

    /** Stores a photo the camera just wrote. */
    fun addPhoto(bytes: ByteArray) = viewModelScope.launch {
        val (form, error) = withContext(Dispatchers.IO) { presenter.addPhoto(_form.value, bytes) }
        _form.value = form
        error?.let { _result.value = CheckInResult.Failed(it) }
    }

    fun submit() = viewModelScope.launch {
        val result = withContext(Dispatchers.IO) { presenter.submit(_form.value) }
        _result.value = result
        if (result is CheckInResult.Saved) {
            _form.value = presenter.newForm()
            refresh()
        }
    }
}
