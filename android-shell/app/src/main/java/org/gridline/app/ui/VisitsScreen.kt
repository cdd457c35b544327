// Visits due and the visit record form (social workers).
package org.gridline.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Slider
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import org.gridline.app.R
import org.gridline.app.logic.Labels
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.VisitFormState
import org.gridline.app.logic.VisitsPresenter
import org.gridline.core.Visit
import org.gridline.core.VisitsDue
import org.gridline.ffi.GridlineStore

class VisitsViewModel(private val store: GridlineStore) : ViewModel() {
    private val presenter = VisitsPresenter(store)
    private val _due = MutableStateFlow<ScreenState<VisitsDue>>(ScreenState.Loading)
    val due: StateFlow<ScreenState<VisitsDue>> = _due
    private val _form = MutableStateFlow<VisitFormState?>(null)
    val form: StateFlow<VisitFormState?> = _form
    private val _saved = MutableStateFlow<ScreenState<Visit>?>(null)
    val saved: StateFlow<ScreenState<Visit>?> = _saved

    /** Catalogue of services (memory only). */
    val services get() = store.settings().visitServices

    init { refresh() }

    fun refresh() = io(_due) { presenter.due() }
    fun start(household: String, resident: String?) { _form.value = VisitFormState(household, listOfNotNull(resident)); _saved.value = null }
    fun edit(change: (VisitFormState) -> VisitFormState) { _form.value = _form.value?.let(change) }
    fun save() { val f = _form.value ?: return; io(_saved) { presenter.record(f) }; refresh() }
}

@Composable
fun VisitsScreen(vm: VisitsViewModel) {
    val due by vm.due.collectAsState()
    val form by vm.form.collectAsState()
    val saved by vm.saved.collectAsState()
    val f = form
    if (f != null) {
        Column(Modifier.padding(16.dp)) {
            Text(stringResource(R.string.visit_record))
            Text(stringResource(R.string.visit_services))
            vm.services.forEach { s ->
                FilterChip(s.code in f.services, { vm.edit { it.toggleService(s.code) } }, { Text(s.nameZh) })
            }
            OutlinedTextField(f.needs, { n -> vm.edit { it.copy(needs = n) } }, label = { Text(stringResource(R.string.visit_needs)) })
            Text(stringResource(R.string.visit_satisfaction) + " " + (f.satisfaction?.toString() ?: "–"))
            Slider((f.satisfaction ?: 5u).toFloat(), { v -> vm.edit { it.copy(satisfaction = v.toInt().toUByte()) } }, valueRange = 1f..5f, steps = 3)
            Button(onClick = vm::save) { Text(stringResource(R.string.save)) }
            when (val s = saved) {
                is ScreenState.Loaded -> Text(stringResource(R.string.saved))
                is ScreenState.Failed -> ErrorText(s.error)
                else -> {}
            }
        }
        return
    }
    StateView(due, vm::refresh) { d ->
        LazyColumn {
            items(d.items) { item ->
                Column(Modifier.clickable { vm.start(item.householdCode, item.resident) }.padding(16.dp, 8.dp)) {
                    Text("${item.resident ?: item.householdCode} · ${textByKey(Labels.key(item.contact))}")
                    Text(stringResource(R.string.address_format, item.building, item.unit, item.floor, item.room))
                    if (item.overdueDays > 0u) Text(stringResource(R.string.overdue_days, item.overdueDays.toInt()))
                }
            }
        }
    }
}
