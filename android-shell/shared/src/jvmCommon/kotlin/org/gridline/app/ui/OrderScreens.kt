// Service orders: the order list (a volunteer's "my orders" with their points), the order with exactly the
// actions the core allows (accept, decline, done with a photo, rate 1–5 …), and "order a service for this
// household". Layout only: the shaping is OrdersPresenter's, the rules the core's.
package org.gridline.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.verticalScroll
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Clear
import androidx.compose.material3.Button
import androidx.compose.material3.DatePicker
import androidx.compose.material3.DatePickerDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.rememberDatePickerState
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.logic.Labels
import org.gridline.app.logic.OrderActForm
import org.gridline.app.logic.OrderButton
import org.gridline.app.logic.OrderInput
import org.gridline.app.logic.OrderRequestForm
import org.gridline.app.logic.OrdersPresenter
import org.gridline.app.logic.OrdersScreen
import org.gridline.app.logic.ScreenError
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.pickedDay
import org.gridline.core.OrderDetail
import org.gridline.core.ServiceOrderFields
import org.gridline.ffi.GridlineStore

/** The order screens' state; service names in Chinese when `chinese`. */
class OrdersModel(store: GridlineStore, private val mine: Boolean, chinese: Boolean, scope: CoroutineScope, io: CoroutineDispatcher) :
    ScreenModel(scope, io) {
    private val presenter = OrdersPresenter(store, chinese)
    private val _list = MutableStateFlow<ScreenState<OrdersScreen>>(ScreenState.Loading)
    val list: StateFlow<ScreenState<OrdersScreen>> = _list
    private val _detail = MutableStateFlow<ScreenState<Pair<OrderDetail, List<OrderButton>>>>(ScreenState.Loading)
    val detail: StateFlow<ScreenState<Pair<OrderDetail, List<OrderButton>>>> = _detail
    private val _form = MutableStateFlow<OrderActForm?>(null)
    val form: StateFlow<OrderActForm?> = _form
    /** Why the photo or the action just tried was refused (the order stays on screen). */
    private val _actError = MutableStateFlow<ScreenError?>(null)
    val actError: StateFlow<ScreenError?> = _actError
    private val _request = MutableStateFlow<ScreenState<OrderRequestForm>>(ScreenState.Loading)
    val request: StateFlow<ScreenState<OrderRequestForm>> = _request
    private val _requested = MutableStateFlow<ScreenState<ServiceOrderFields>?>(null)
    val requested: StateFlow<ScreenState<ServiceOrderFields>?> = _requested

    /** The catalogue's services (memory only). */
    val services: List<Pair<String, String>> = presenter.services()

    fun refresh() = load(_list) { presenter.list(mine = mine) }
    fun open(id: String) { _form.value = null; load(_detail) { presenter.show(id) } }

    /** Opens the inputs of `button`; the action is taken when the user confirms them ([act]). */
    fun start(button: OrderButton) { _form.value = presenter.form(button); _actError.value = null }
    fun edit(change: (OrderActForm) -> OrderActForm) { _form.value = _form.value?.let(change) }
    fun close() { _form.value = null; _actError.value = null }

    fun addPhoto(bytes: ByteArray) {
        val form = _form.value ?: return
        scope.launch {
            val (next, error) = withContext(io) { presenter.addPhoto(form, bytes) }
            _form.value = next
            _actError.value = error
        }
    }

    fun act(orderId: String) {
        val form = _form.value ?: return
        scope.launch {
            when (val after = withContext(io) { presenter.act(orderId, form) }) {
                is ScreenState.Loaded -> { _detail.value = after; close() }
                is ScreenState.Failed -> _actError.value = after.error
                else -> {}
            }
        }
    }

    fun startRequest(household: String) { _requested.value = null; load(_request) { presenter.requestForm(household) } }
    fun editRequest(change: (OrderRequestForm) -> OrderRequestForm) {
        (_request.value as? ScreenState.Loaded)?.let { _request.value = ScreenState.Loaded(change(it.content)) }
    }
    fun submitRequest() {
        val form = (_request.value as? ScreenState.Loaded)?.content ?: return
        scope.launch { _requested.value = withContext(io) { presenter.request(form) } }
    }
}

@Composable
private fun rememberOrders(store: GridlineStore, key: String, mine: Boolean = false): OrdersModel {
    val chinese = LocalStrings.current.lang == org.gridline.app.logic.Lang.ZH
    return rememberModel("$key/$chinese") { scope, io -> OrdersModel(store, mine, chinese, scope, io) }
}

/** The order list; on a volunteer's device "my orders" (我的服务单) with their points on top. */
@Composable
fun OrderListRoute(store: GridlineStore, mine: Boolean, modifier: Modifier, onOpen: (String) -> Unit) {
    val model = rememberOrders(store, "orders/$mine", mine)
    LaunchedEffect(model) { model.refresh() }
    val state by model.list.collectAsState()
    StateView(state, model::refresh) { OrderList(it, onOpen, modifier) }
}

@Composable
fun OrderList(screen: OrdersScreen, onOpen: (String) -> Unit, modifier: Modifier = Modifier) {
    LazyColumn(modifier) {
        screen.points?.let { p ->
            item {
                Column(Modifier.padding(16.dp)) {
                    Heading(str("points_balance", p.balance.toLong()), MaterialTheme.typography.titleLarge)
                    Text(str("points_detail", p.earned.toLong(), p.redeemed.toLong()))
                    if (p.pending > 0u) Text(str("points_pending", p.pending.toLong()))
                }
                HorizontalDivider()
            }
        }
        if (screen.rows.isEmpty()) item { Text(str("orders_empty"), Modifier.padding(16.dp)) }
        items(screen.rows) { row ->
            Column(
                Modifier.fillMaxWidth().heightIn(min = 48.dp)
                    .clickable(role = Role.Button) { onOpen(row.orderId) }.padding(16.dp, 8.dp),
            ) {
                Text(row.service, style = MaterialTheme.typography.titleSmall)
                TagLabel(str(row.stageKey))
                val c = row.contact
                if (c == null) {
                    Text(row.householdCode)
                } else {
                    Text(listOfNotNull(c.resident, c.address).joinToString(" · "))
                    c.phone?.let { Text(str("order_phone", it)) }
                }
                row.volunteer?.let { Text(str("order_volunteer", it)) }
                row.due?.let { Text(str("order_due", it)) }
                if (row.overdueDays > 0u) {
                    Text(str("overdue_days", row.overdueDays.toInt()), color = MaterialTheme.colorScheme.error)
                }
            }
            HorizontalDivider()
        }
        if (screen.history.isNotEmpty()) {
            item { Heading(str("points_history"), modifier = Modifier.padding(horizontal = 16.dp)) }
            items(screen.history) { p ->
                val sign = if (p.credit) "+" else "−"
                val status = p.statusKey?.let { " · " + str(it) } ?: ""
                Text(
                    "${p.at.take(10)} ${str(p.kindKey)} ${p.name} ×${p.quantity} $sign${p.points}$status",
                    Modifier.padding(16.dp, 4.dp),
                )
            }
        }
    }
}

/** One order: what to do, where, for whom, and exactly the actions the core allows this user now. */
@Composable
fun OrderDetailRoute(store: GridlineStore, orderId: String, modifier: Modifier) {
    val model = rememberOrders(store, "order/$orderId")
    LaunchedEffect(model) { model.open(orderId) }
    val state by model.detail.collectAsState()
    val form by model.form.collectAsState()
    val actError by model.actError.collectAsState()
    val camera = LocalPlatform.current.rememberCamera(model::addPhoto)
    StateView(state, { model.open(orderId) }) { (d, buttons) ->
        OrderDetailView(d, buttons, model.services, form, actError, model, camera, { model.act(orderId) }, modifier)
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun OrderDetailView(
    d: OrderDetail,
    buttons: List<OrderButton>,
    services: List<Pair<String, String>>,
    form: OrderActForm?,
    actError: ScreenError?,
    model: OrdersModel,
    onPhoto: () -> Unit,
    onSubmit: () -> Unit,
    modifier: Modifier,
) {
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        val service = services.firstOrNull { it.first == d.service }?.second ?: d.service
        Text(service, style = MaterialTheme.typography.titleLarge)
        TagLabel(str(Labels.key(d.stage)))
        Text(listOfNotNull(d.resident, d.address).joinToString(" · "))
        d.phone?.let { Text(str("order_phone", it)) }
        if (d.note.isNotEmpty()) Text(d.note)
        d.volunteer?.let { Text(str("order_volunteer", it)) }
        d.due?.let { Text(str("order_due", it)) }
        if (d.overdueDays > 0u) Text(str("overdue_days", d.overdueDays.toInt()), color = MaterialTheme.colorScheme.error)
        d.rating?.let { Text(str("order_rating", it.toInt())) }
        Text(str("order_points", d.points.toLong()))
        Heading(str("order_history"))
        d.events.forEach { e ->
            val line = "${time(e.at)} ${str("order_action_${e.action}")} · ${e.actor}" +
                (if (e.applied) "" else " " + str("incident_event_superseded")) +
                (if (e.note.isEmpty()) "" else "\n${e.note}")
            Text(line, Modifier.padding(vertical = 4.dp))
        }
        if (form == null) {
            FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                buttons.forEach { b ->
                    if (b.primary) Button(onClick = { model.start(b) }, modifier = MinTouchTarget) { Text(str(b.labelKey)) }
                    else OutlinedButton(onClick = { model.start(b) }, modifier = MinTouchTarget) { Text(str(b.labelKey)) }
                }
            }
        } else {
            OrderActInputs(model, form, actError, onPhoto, onSubmit)
        }
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun OrderActInputs(model: OrdersModel, form: OrderActForm, actError: ScreenError?, onPhoto: () -> Unit, onSubmit: () -> Unit) {
    val asks = form.button.inputs
    Heading(str(form.button.labelKey))
    if (OrderInput.RATING in asks) {
        Text(str("order_rate"))
        FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            (1..5).forEach { stars ->
                FilterChip(form.rating?.toInt() == stars, { model.edit { it.withRating(stars) } }, { Text(str("order_stars", stars)) }, MinTouchTarget)
            }
        }
    }
    if (OrderInput.VOLUNTEER in asks) {
        OutlinedTextField(
            form.volunteer, { v -> model.edit { it.withVolunteer(v) } },
            label = { Text(str("order_volunteer_input")) }, modifier = Modifier.fillMaxWidth(),
        )
    }
    if (OrderInput.DUE in asks) DueDayField(form.due) { d -> model.edit { it.withDue(d) } }
    OutlinedTextField(
        form.note, { n -> model.edit { it.withNote(n) } },
        label = { Text(str("order_act_note")) }, modifier = Modifier.fillMaxWidth(),
    )
    if (OrderInput.PHOTOS in asks) OutlinedButton(onClick = onPhoto, modifier = MinTouchTarget) { Text(str("take_photo_count", form.photos.size)) }
    actError?.let { ErrorText(it) }
    FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        Button(onClick = onSubmit, enabled = form.canSubmit, modifier = MinTouchTarget) { Text(str(form.button.labelKey)) }
        TextButton(onClick = model::close, modifier = MinTouchTarget) { Text(str("back")) }
    }
}

/** The due day: a date picker (never typed text), cleared back to the default with the button beside it. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun DueDayField(day: String?, onPick: (String?) -> Unit) {
    var open by remember { mutableStateOf(false) }
    val picker = rememberDatePickerState()
    Row(verticalAlignment = Alignment.CenterVertically) {
        OutlinedButton(onClick = { open = true }, modifier = MinTouchTarget) { Text(day?.let { str("order_due", it) } ?: str("order_due_input")) }
        if (day != null) IconButton(onClick = { onPick(null) }, modifier = MinTouchTarget) { AppIcon(Icons.Filled.Clear, str("order_due_clear")) }
    }
    if (open) {
        DatePickerDialog(
            onDismissRequest = { open = false },
            confirmButton = {
                TextButton(onClick = { picker.selectedDateMillis?.let { onPick(pickedDay(it)) }; open = false }, modifier = MinTouchTarget) { Text(str("save")) }
            },
        ) { DatePicker(picker) }
    }
}

/** "Order a service for this household" (为该户点单): service, resident, note, due. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun OrderRequestRoute(store: GridlineStore, householdCode: String, modifier: Modifier, onDone: (String) -> Unit) {
    val model = rememberOrders(store, "order/new/$householdCode")
    val state by model.request.collectAsState()
    val requested by model.requested.collectAsState()
    LaunchedEffect(model) { model.startRequest(householdCode) }
    LaunchedEffect(requested) { (requested as? ScreenState.Loaded)?.let { onDone(it.content.orderId) } }
    StateView(state, { model.startRequest(householdCode) }) { form ->
        Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
            Text(householdCode, style = MaterialTheme.typography.bodySmall)
            Heading(str("order_service"))
            FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                model.services.forEach { (code, name) ->
                    FilterChip(form.service == code, { model.editRequest { it.withService(code) } }, { Text(name) }, MinTouchTarget)
                }
            }
            Heading(str("order_resident"))
            FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                form.residents.forEach { r ->
                    FilterChip(form.resident == r, { model.editRequest { it.withResident(r) } }, { Text(r) }, MinTouchTarget)
                }
                FilterChip(form.resident == null, { model.editRequest { it.withResident(null) } }, { Text(str("order_whole_household")) }, MinTouchTarget)
            }
            OutlinedTextField(
                form.note, { n -> model.editRequest { it.withNote(n) } },
                label = { Text(str("order_note")) }, minLines = 2, modifier = Modifier.fillMaxWidth(),
            )
            DueDayField(form.due) { d -> model.editRequest { it.withDue(d) } }
            Button(onClick = model::submitRequest, enabled = form.canSubmit, modifier = Modifier.padding(top = 8.dp).then(MinTouchTarget).fillMaxWidth()) {
                Text(str("order_action_request"))
            }
            (requested as? ScreenState.Failed)?.let { ErrorText(it.error) }
        }
    }
}
