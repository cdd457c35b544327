// Incident capture, list and detail. Buttons are IncidentActions.buttons(detail): exactly what the core allows.
package org.gridline.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import org.gridline.app.R
import org.gridline.app.logic.Labels
import org.gridline.app.logic.ActInput
import org.gridline.app.logic.ActionButton
import org.gridline.app.logic.IncidentActions
import org.gridline.app.logic.IncidentPresenter
import org.gridline.app.logic.ScreenState
import org.gridline.core.IncidentDetail
import org.gridline.core.IncidentFields
import org.gridline.core.IncidentList
import org.gridline.core.Severity
import org.gridline.ffi.GridlineStore

class IncidentViewModel(store: GridlineStore) : ViewModel() {
    private val presenter = IncidentPresenter(store)
    private val _list = MutableStateFlow<ScreenState<IncidentList>>(ScreenState.Loading)
    val list: StateFlow<ScreenState<IncidentList>> = _list
    private val _detail = MutableStateFlow<ScreenState<Pair<IncidentDetail, List<ActionButton>>>>(ScreenState.Loading)
    val detail: StateFlow<ScreenState<Pair<IncidentDetail, List<ActionButton>>>> = _detail
    private val _reported = MutableStateFlow<ScreenState<IncidentFields>?>(null)
    val reported: StateFlow<ScreenState<IncidentFields>?> = _reported

    fun refresh() = io(_list) { presenter.list() }
    fun open(id: String) = io(_detail) { presenter.show(id) }
    fun act(id: String, button: ActionButton, note: String, assignee: String?, satisfied: Boolean?) =
        io(_detail) { presenter.act(id, IncidentActions.act(button, note, assignee, satisfied)) }
    fun report(category: String, severity: Severity, title: String, description: String, household: String?) =
        io(_reported) { presenter.report(category, severity, title, description, household) }
}

@Composable
fun IncidentListScreen(vm: IncidentViewModel, onOpen: (String) -> Unit, onReport: () -> Unit) {
    val state by vm.list.collectAsState()
    Column {
        Button(onClick = onReport, modifier = Modifier.padding(16.dp)) { Text(stringResource(R.string.incident_report)) }
        StateView(state, vm::refresh) { list ->
            LazyColumn {
                items(list.items) { item ->
                    Column(Modifier.clickable { onOpen(item.incidentId) }.padding(16.dp, 8.dp)) {
                        Text(item.title, style = MaterialTheme.typography.titleSmall)
                        Text(textByKey(Labels.key(item.stage)) + " · " + textByKey(Labels.key(item.severity)))
                        if (item.overdue) Text(stringResource(R.string.incident_overdue), color = MaterialTheme.colorScheme.error)
                    }
                }
            }
        }
    }
}

@Composable
fun IncidentDetailScreen(vm: IncidentViewModel, incidentId: String) {
    val state by vm.detail.collectAsState()
    var note by remember { mutableStateOf("") }
    var assignee by remember { mutableStateOf("") }
    StateView(state, { vm.open(incidentId) }) { (d, buttons) ->
        Column(Modifier.padding(16.dp)) {
            Text(d.title, style = MaterialTheme.typography.titleLarge)
            Text(textByKey(Labels.key(d.stage)) + " · " + textByKey(Labels.key(d.severity)))
            d.deadline?.let { Text(stringResource(R.string.incident_deadline, it)) }
            Text(d.description)
            Text(stringResource(R.string.incident_history), style = MaterialTheme.typography.titleMedium)
            d.events.forEach { e ->
                Text("${e.at.take(16)} ${textByKey("action_${e.action}")} ${e.actor} ${e.note}" + if (e.applied) "" else " ✗")
            }
            OutlinedTextField(note, { note = it }, label = { Text(stringResource(R.string.incident_act_comment)) })
            if (buttons.any { ActInput.ASSIGNEE in it.inputs }) {
                OutlinedTextField(assignee, { assignee = it }, label = { Text(stringResource(R.string.assignee)) })
            }
            Row {
                buttons.forEach { b ->
                    if (ActInput.SATISFACTION in b.inputs) {
                        Button(onClick = { vm.act(incidentId, b, note, null, true) }) { Text(stringResource(R.string.satisfied)) }
                        OutlinedButton(onClick = { vm.act(incidentId, b, note, null, false) }) { Text(stringResource(R.string.not_satisfied)) }
                    } else if (b.primary) {
                        Button(onClick = { vm.act(incidentId, b, note, assignee.ifBlank { null }, null) }) { Text(textByKey(b.labelKey)) }
                    } else {
                        OutlinedButton(onClick = { vm.act(incidentId, b, note, assignee.ifBlank { null }, null) }) { Text(textByKey(b.labelKey)) }
                    }
                }
            }
        }
    }
}

@Composable
fun IncidentCaptureScreen(vm: IncidentViewModel, store: GridlineStore, householdCode: String?, onDone: (String) -> Unit) {
    val reported by vm.reported.collectAsState()
    val categories = remember { store.settings().incidentCategories } // memory only: no I/O
    var category by remember { mutableStateOf(categories.firstOrNull()?.code ?: "") }
    var severity by remember { mutableStateOf(Severity.NORMAL) }
    var title by remember { mutableStateOf("") }
    var description by remember { mutableStateOf("") }
    Column(Modifier.padding(16.dp)) {
        Text(stringResource(R.string.incident_report), style = MaterialTheme.typography.titleLarge)
        Row { categories.forEach { c -> FilterChip(category == c.code, { category = c.code }, { Text(if (java.util.Locale.getDefault().language == "zh") c.nameZh else c.nameEn) }) } }
        Row {
            Severity.entries.forEach { s ->
                FilterChip(severity == s, { severity = s }, { Text(textByKey(Labels.key(s))) })
            }
        }
        OutlinedTextField(title, { title = it }, label = { Text(stringResource(R.string.incident_title)) })
        OutlinedTextField(description, { description = it }, label = { Text(stringResource(R.string.incident_description)) })
        Button(onClick = { vm.report(category, severity, title, description, householdCode) }) { Text(stringResource(R.string.save)) }
        when (val r = reported) {
            is ScreenState.Loaded -> onDone(r.content.incidentId)
            is ScreenState.Failed -> ErrorText(r.error)
            else -> {}
        }
    }
}
