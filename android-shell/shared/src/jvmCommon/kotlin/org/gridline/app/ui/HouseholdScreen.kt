// Household detail (residents, what is due, recent check-ins, the way to check in, order a service, survey the
// household or record its rating of a project) and the check-in form (kind, outcome, note, camera photo,
// location).
package org.gridline.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
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
import org.gridline.app.logic.CheckInFormState
import org.gridline.app.logic.CheckInResult
import org.gridline.app.logic.HouseholdPresenter
import org.gridline.app.logic.Labels
import org.gridline.app.logic.ScreenState
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.HouseholdDetail
import org.gridline.ffi.GridlineStore

/** One household's screen and its check-in form. */
class HouseholdModel(store: GridlineStore, householdCode: String, scope: CoroutineScope, io: CoroutineDispatcher) :
    ScreenModel(scope, io) {
    private val presenter = HouseholdPresenter(store, householdCode)
    private val _state = MutableStateFlow<ScreenState<HouseholdDetail>>(ScreenState.Loading)
    val state: StateFlow<ScreenState<HouseholdDetail>> = _state
    private val _form = MutableStateFlow(presenter.newForm())
    val form: StateFlow<CheckInFormState> = _form
    private val _result = MutableStateFlow<CheckInResult?>(null)
    val result: StateFlow<CheckInResult?> = _result

    fun refresh() = load(_state) { presenter.load() }

    fun edit(change: (CheckInFormState) -> CheckInFormState) { _form.value = change(_form.value) }

    /** Stores a photo the camera just took. */
    fun addPhoto(bytes: ByteArray) {
        scope.launch {
            val (form, error) = withContext(io) { presenter.addPhoto(_form.value, bytes) }
            _form.value = form
            error?.let { _result.value = CheckInResult.Failed(it) }
        }
    }

    /** The saved result was acted on: the next check-in starts from an empty form. */
    fun consumed() {
        _result.value = null
        _form.value = presenter.newForm()
    }

    fun submit() {
        scope.launch { _result.value = withContext(io) { presenter.submit(_form.value) } }
    }
}

@Composable
fun HouseholdRoute(
    store: GridlineStore,
    code: String,
    modifier: Modifier,
    onCheckIn: () -> Unit,
    onOrderService: () -> Unit,
    onSurvey: () -> Unit,
    onRateProject: () -> Unit,
) {
    val model = rememberModel("household/$code") { scope, io -> HouseholdModel(store, code, scope, io) }
    LaunchedEffect(model) { model.refresh() }
    val state by model.state.collectAsState()
    StateView(state, model::refresh) { HouseholdView(it, onCheckIn, onOrderService, onSurvey, onRateProject, modifier) }
}

@Composable
fun HouseholdView(
    d: HouseholdDetail,
    onCheckIn: () -> Unit,
    onOrderService: () -> Unit,
    onSurvey: () -> Unit,
    onRateProject: () -> Unit,
    modifier: Modifier = Modifier,
) {
    val strings = LocalStrings.current
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(str("address_format", d.building, d.unit, d.floor, d.room), style = MaterialTheme.typography.titleLarge)
        Text(d.householdCode, style = MaterialTheme.typography.bodySmall)
        Button(onClick = onCheckIn, modifier = Modifier.padding(top = 8.dp).then(MinTouchTarget).fillMaxWidth()) { Text(str("checkin_start")) }
        OutlinedButton(onClick = onOrderService, modifier = MinTouchTarget.fillMaxWidth()) { Text(str("order_request")) }
        OutlinedButton(onClick = onSurvey, modifier = MinTouchTarget.fillMaxWidth()) { Text(str("survey_start")) }
        OutlinedButton(onClick = onRateProject, modifier = MinTouchTarget.fillMaxWidth()) { Text(str("project_rate_start")) }
        Heading(str("household_residents"))
        d.residents.forEach { r ->
            val tags = r.tags.joinToString(" · ") { strings["tag_$it"] }
            val moved = if (r.movedOut) " (${str("moved_out")})" else ""
            Text("${r.name} · ${r.birthYear}$moved" + if (tags.isEmpty()) "" else "\n$tags", Modifier.padding(vertical = 4.dp))
        }
        Heading(str("household_due"))
        if (d.due.isEmpty()) Text(str("household_nothing_due"))
        d.due.forEach { Text(str("due_line", str(Labels.key(it.contact)), it.dueDate), Modifier.padding(vertical = 2.dp)) }
        Heading(str("household_checkins"))
        if (d.checkIns.isEmpty()) Text(str("never_contacted"))
        d.checkIns.forEach {
            val line = "${time(it.at)} ${str(Labels.key(it.kind))} · ${str(Labels.key(it.outcome))}"
            Text(line + if (it.note.isEmpty()) "" else "\n${it.note}", Modifier.padding(vertical = 4.dp))
        }
    }
}

@Composable
fun CheckInRoute(store: GridlineStore, code: String, modifier: Modifier, onSaved: (CheckInResult.Saved) -> Unit) {
    val model = rememberModel("checkin/$code") { scope, io -> HouseholdModel(store, code, scope, io) }
    val form by model.form.collectAsState()
    val result by model.result.collectAsState()
    val camera = LocalPlatform.current.rememberCamera(model::addPhoto)
    val location = LocalPlatform.current.rememberLocation { fix -> model.edit { it.withLocation(fix) } }
    LaunchedEffect(result) {
        (result as? CheckInResult.Saved)?.let { saved -> model.consumed(); onSaved(saved) }
    }
    CheckInForm(form, result, model::edit, camera, location, model::submit, modifier)
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
fun CheckInForm(
    form: CheckInFormState,
    result: CheckInResult?,
    edit: ((CheckInFormState) -> CheckInFormState) -> Unit,
    onPhoto: () -> Unit,
    onLocation: () -> Unit,
    onSave: () -> Unit,
    modifier: Modifier = Modifier,
) {
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(form.householdCode, style = MaterialTheme.typography.bodySmall)
        Heading(str("checkin_kind"))
        FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            CheckInKind.entries.forEach { k ->
                FilterChip(form.kind == k, { edit { it.withKind(k) } }, { Text(str(Labels.key(k))) }, MinTouchTarget)
            }
        }
        Heading(str("checkin_outcome"))
        FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            CheckInOutcome.entries.forEach { o ->
                FilterChip(form.outcome == o, { edit { it.withOutcome(o) } }, { Text(str(Labels.key(o))) }, MinTouchTarget)
            }
        }
        OutlinedTextField(
            form.note, { n -> edit { it.withNote(n) } },
            label = { Text(str("checkin_note")) },
            modifier = Modifier.fillMaxWidth().padding(top = 8.dp),
        )
        FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(onClick = onPhoto, modifier = MinTouchTarget) { Text(str("take_photo_count", form.photos.size)) }
            OutlinedButton(onClick = onLocation, modifier = MinTouchTarget) {
                Text(if (form.location != null) str("location_added") else str("add_location"))
            }
        }
        if (form.leadsToIncident) Text(str("checkin_leads_to_incident"), color = MaterialTheme.colorScheme.error)
        Button(onClick = onSave, enabled = form.canSubmit, modifier = Modifier.padding(top = 8.dp).then(MinTouchTarget).fillMaxWidth()) {
            Text(str("save"))
        }
        (result as? CheckInResult.Failed)?.let { ErrorText(it.error) }
    }
}
