// Incident capture, list and detail. Buttons are IncidentActions.buttons(detail): exactly what the core allows.
package org.gridline.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import org.gridline.app.logic.ActInput
import org.gridline.app.logic.ActionButton
import org.gridline.app.logic.IncidentActions
import org.gridline.app.logic.IncidentPresenter
import org.gridline.app.logic.Labels
import org.gridline.app.logic.Lang
import org.gridline.app.logic.ScreenState
import org.gridline.core.IncidentDetail
import org.gridline.core.IncidentFields
import org.gridline.core.IncidentList
import org.gridline.core.Severity
import org.gridline.ffi.GridlineStore

/** The incident screens' state. */
class IncidentModel(store: GridlineStore, scope: CoroutineScope, io: CoroutineDispatcher) : ScreenModel(scope, io) {
    private val presenter = IncidentPresenter(store)
    private val _list = MutableStateFlow<ScreenState<IncidentList>>(ScreenState.Loading)
    val list: StateFlow<ScreenState<IncidentList>> = _list
    private val _detail = MutableStateFlow<ScreenState<Pair<IncidentDetail, List<ActionButton>>>>(ScreenState.Loading)
    val detail: StateFlow<ScreenState<Pair<IncidentDetail, List<ActionButton>>>> = _detail
    private val _reported = MutableStateFlow<ScreenState<IncidentFields>?>(null)
    val reported: StateFlow<ScreenState<IncidentFields>?> = _reported

    /** The community's incident categories (memory only). */
    val categories = store.settings().incidentCategories

    fun refresh() = load(_list) { presenter.list() }
    fun open(id: String) = load(_detail) { presenter.show(id) }
    fun act(id: String, button: ActionButton, note: String, assignee: String?, satisfied: Boolean?) =
        load(_detail) { presenter.act(id, IncidentActions.act(button, note, assignee, satisfied)) }
    fun report(category: String, severity: Severity, title: String, description: String, household: String?, checkInId: String?) =
        load(_reported) { presenter.report(category, severity, title, description, household, checkInId) }
}

@Composable
fun IncidentListRoute(store: GridlineStore, modifier: Modifier, onOpen: (String) -> Unit, onReport: () -> Unit) {
    val model = rememberModel("incidents") { scope, io -> IncidentModel(store, scope, io) }
    LaunchedEffect(model) { model.refresh() }
    val state by model.list.collectAsState()
    Column(modifier) {
        Button(onClick = onReport, modifier = Modifier.padding(16.dp).then(MinTouchTarget)) { Text(str("incident_report")) }
        StateView(state, model::refresh) { list ->
            LazyColumn {
                if (list.items.isEmpty()) item { Text(str("incidents_empty"), Modifier.padding(16.dp)) }
                items(list.items) { item ->
                    Column(
                        Modifier.fillMaxWidth().heightIn(min = 48.dp)
                            .clickable(role = Role.Button) { onOpen(item.incidentId) }.padding(16.dp, 8.dp),
                    ) {
                        Text(item.title, style = MaterialTheme.typography.titleSmall)
                        Text(str(Labels.key(item.stage)) + " · " + str(Labels.key(item.severity)))
                        if (item.overdue) Text(str("incident_overdue"), color = MaterialTheme.colorScheme.error)
                    }
                    HorizontalDivider()
                }
            }
        }
    }
}

@Composable
fun IncidentDetailRoute(store: GridlineStore, incidentId: String, modifier: Modifier) {
    val model = rememberModel("incident/$incidentId") { scope, io -> IncidentModel(store, scope, io) }
    LaunchedEffect(model) { model.open(incidentId) }
    val state by model.detail.collectAsState()
    StateView(state, { model.open(incidentId) }) { (d, buttons) ->
        IncidentDetailView(d, buttons, modifier) { b, note, assignee, satisfied -> model.act(incidentId, b, note, assignee, satisfied) }
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
fun IncidentDetailView(
    d: IncidentDetail,
    buttons: List<ActionButton>,
    modifier: Modifier = Modifier,
    onAct: (ActionButton, String, String?, Boolean?) -> Unit,
) {
    var note by remember { mutableStateOf("") }
    var assignee by remember { mutableStateOf("") }
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(d.title, style = MaterialTheme.typography.titleLarge)
        FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            TagLabel(str(Labels.key(d.stage)))
            TagLabel(str(Labels.key(d.severity)))
        }
        d.deadline?.let { Text(str("incident_deadline", time(it))) }
        if (d.overdue) Text(str("incident_overdue"), color = MaterialTheme.colorScheme.error)
        Text(d.description, Modifier.padding(vertical = 8.dp))
        Heading(str("incident_history"))
        d.events.forEach { e ->
            val line = "${time(e.at)} ${str("action_${e.action}")} · ${e.actor}" +
                (if (e.applied) "" else " " + str("incident_event_superseded")) +
                (if (e.note.isEmpty()) "" else "\n${e.note}")
            Text(line, Modifier.padding(vertical = 4.dp))
        }
        if (buttons.isNotEmpty()) {
            Heading(str("incident_actions"))
            OutlinedTextField(note, { note = it }, label = { Text(str("incident_act_comment")) }, modifier = Modifier.fillMaxWidth())
            if (buttons.any { ActInput.ASSIGNEE in it.inputs }) {
                OutlinedTextField(assignee, { assignee = it }, label = { Text(str("assignee")) }, modifier = Modifier.fillMaxWidth())
            }
            FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                buttons.forEach { b ->
                    if (ActInput.SATISFACTION in b.inputs) {
                        Button(onClick = { onAct(b, note, null, true) }, modifier = MinTouchTarget) { Text(str("satisfied")) }
                        OutlinedButton(onClick = { onAct(b, note, null, false) }, modifier = MinTouchTarget) { Text(str("not_satisfied")) }
                    } else if (b.primary) {
                        Button(onClick = { onAct(b, note, assignee.ifBlank { null }, null) }, modifier = MinTouchTarget) { Text(str(b.labelKey)) }
                    } else {
                        OutlinedButton(onClick = { onAct(b, note, assignee.ifBlank { null }, null) }, modifier = MinTouchTarget) { Text(str(b.labelKey)) }
                    }
                }
            }
        }
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
fun IncidentCaptureRoute(store: GridlineStore, householdCode: String?, checkInId: String?, modifier: Modifier, onDone: (String) -> Unit) {
    val model = rememberModel("incident/new/$householdCode/$checkInId") { scope, io -> IncidentModel(store, scope, io) }
    val reported by model.reported.collectAsState()
    val chinese = LocalStrings.current.lang == Lang.ZH
    var category by remember { mutableStateOf(model.categories.firstOrNull()?.code ?: "") }
    var severity by remember { mutableStateOf(Severity.NORMAL) }
    var title by remember { mutableStateOf("") }
    var description by remember { mutableStateOf("") }
    LaunchedEffect(reported) { (reported as? ScreenState.Loaded)?.let { onDone(it.content.incidentId) } }
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        householdCode?.let { Text(str("incident_for_household", it), style = MaterialTheme.typography.bodySmall) }
        Heading(str("incident_category"))
        FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            model.categories.forEach { c ->
                FilterChip(category == c.code, { category = c.code }, { Text(if (chinese) c.nameZh else c.nameEn) }, MinTouchTarget)
            }
        }
        Heading(str("incident_severity"))
        FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Severity.entries.forEach { s ->
                FilterChip(severity == s, { severity = s }, { Text(str(Labels.key(s))) }, MinTouchTarget)
            }
        }
        OutlinedTextField(title, { title = it }, label = { Text(str("incident_title")) }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(
            description, { description = it },
            label = { Text(str("incident_description")) },
            minLines = 3,
            modifier = Modifier.fillMaxWidth(),
        )
        Button(
            onClick = { model.report(category, severity, title, description, householdCode, checkInId) },
            modifier = Modifier.fillMaxWidth().padding(top = 8.dp),
        ) { Text(str("save")) }
        (reported as? ScreenState.Failed)?.let { ErrorText(it.error) }
    }
}
