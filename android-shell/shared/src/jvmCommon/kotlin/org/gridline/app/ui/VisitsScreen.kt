// Visits due and the visit record form (social workers).
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
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Slider
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import org.gridline.app.logic.Labels
import org.gridline.app.logic.Lang
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.VisitFormState
import org.gridline.app.logic.VisitsPresenter
import org.gridline.core.Visit
import org.gridline.core.VisitsDue
import org.gridline.ffi.GridlineStore

/** Visits due and one visit form. */
class VisitsModel(private val store: GridlineStore, scope: CoroutineScope, io: CoroutineDispatcher) : ScreenModel(scope, io) {
    private val presenter = VisitsPresenter(store)
    private val _due = MutableStateFlow<ScreenState<VisitsDue>>(ScreenState.Loading)
    val due: StateFlow<ScreenState<VisitsDue>> = _due
    private val _form = MutableStateFlow<VisitFormState?>(null)
    val form: StateFlow<VisitFormState?> = _form
    private val _saved = MutableStateFlow<ScreenState<Visit>?>(null)
    val saved: StateFlow<ScreenState<Visit>?> = _saved

    /** Catalogue of services (memory only). */
    val services get() = store.settings().visitServices

    fun refresh() = load(_due) { presenter.due() }
    fun start(household: String, resident: String?) {
        _form.value = VisitFormState(household, listOfNotNull(resident))
        _saved.value = null
    }
    fun edit(change: (VisitFormState) -> VisitFormState) { _form.value = _form.value?.let(change) }
    fun save() { val f = _form.value ?: return; load(_saved) { presenter.record(f) } }
}

@Composable
fun VisitsRoute(store: GridlineStore, modifier: Modifier, onVisit: (String, String?) -> Unit) {
    val model = rememberModel("visits") { scope, io -> VisitsModel(store, scope, io) }
    LaunchedEffect(model) { model.refresh() }
    val due by model.due.collectAsState()
    StateView(due, model::refresh) { VisitsDueList(it, onVisit, modifier) }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
fun VisitsDueList(d: VisitsDue, onVisit: (String, String?) -> Unit, modifier: Modifier = Modifier) {
    LazyColumn(modifier) {
        item { Heading(str("visits_title", d.date, d.items.size), modifier = Modifier.padding(horizontal = 16.dp)) }
        if (d.items.isEmpty()) item { Text(str("visits_empty"), Modifier.padding(16.dp)) }
        items(d.items) { item ->
            Column(
                Modifier.fillMaxWidth().heightIn(min = 48.dp)
                    .clickable(role = Role.Button) { onVisit(item.householdCode, item.resident) }.padding(16.dp, 8.dp),
            ) {
                Text(item.resident ?: item.householdCode, style = MaterialTheme.typography.titleSmall)
                FlowRow(horizontalArrangement = Arrangement.spacedBy(4.dp)) {
                    TagLabel(str(Labels.key(item.contact)))
                    item.tag?.let { TagLabel(str("tag_$it")) }
                    if (item.followUp) TagLabel(str("visit_follow_up_due"))
                }
                Text(str("address_format", item.building, item.unit, item.floor, item.room))
                if (item.overdueDays > 0u) {
                    Text(str("overdue_days", item.overdueDays.toInt()), color = MaterialTheme.colorScheme.error)
                } else {
                    Text(str("due_on", item.dueDate))
                }
            }
            HorizontalDivider()
        }
    }
}

@Composable
fun VisitFormRoute(store: GridlineStore, household: String, resident: String?, modifier: Modifier, onSaved: () -> Unit) {
    val model = rememberModel("visit/$household/$resident") { scope, io -> VisitsModel(store, scope, io) }
    LaunchedEffect(model) { model.start(household, resident) }
    val form by model.form.collectAsState()
    val saved by model.saved.collectAsState()
    LaunchedEffect(saved) { if (saved is ScreenState.Loaded) onSaved() }
    form?.let { VisitForm(it, model, saved, modifier) }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun VisitForm(f: VisitFormState, model: VisitsModel, saved: ScreenState<Visit>?, modifier: Modifier) {
    val chinese = LocalStrings.current.lang == Lang.ZH
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(listOfNotNull(f.residents.firstOrNull(), f.householdCode).joinToString(" · "), style = MaterialTheme.typography.titleMedium)
        Heading(str("visit_services"))
        FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            model.services.forEach { s ->
                FilterChip(s.code in f.services, { model.edit { it.toggleService(s.code) } }, { Text(if (chinese) s.nameZh else s.nameEn) }, MinTouchTarget)
            }
        }
        OutlinedTextField(
            f.needs, { n -> model.edit { it.copy(needs = n) } },
            label = { Text(str("visit_needs")) },
            minLines = 2,
            modifier = Modifier.fillMaxWidth(),
        )
        val satisfaction = f.satisfaction?.toString() ?: str("visit_not_asked")
        val label = str("visit_satisfaction") + " " + satisfaction
        Heading(label)
        Slider(
            (f.satisfaction ?: 5u).toFloat(), { v -> model.edit { it.copy(satisfaction = v.toInt().toUByte()) } },
            valueRange = 1f..5f, steps = 3,
            modifier = Modifier.semantics { contentDescription = label },
        )
        Button(onClick = model::save, modifier = Modifier.padding(top = 8.dp).then(MinTouchTarget).fillMaxWidth()) { Text(str("save")) }
        (saved as? ScreenState.Failed)?.let { ErrorText(it.error) }
    }
}
