// Service orders: the order list (a volunteer's "my orders" with their points), the order with exactly the
// actions the core allows (accept, decline, done with a photo, rate 1–5 …), and "order a service for this
// household". Layout and platform calls only: the shaping is OrdersPresenter's, the rules the core's.
package org.gridline.app.ui

import android.net.Uri
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.DatePicker
import androidx.compose.material3.DatePickerDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
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
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.core.content.FileProvider
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.R
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

class OrdersViewModel(store: GridlineStore, private val mine: Boolean) : ViewModel() {
    private val presenter = OrdersPresenter(store, java.util.Locale.getDefault().language == "zh")
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

    fun refresh() = io(_list) { presenter.list(mine = mine) }
    fun open(id: String) { _form.value = null; io(_detail) { presenter.show(id) } }

    /** Opens the inputs of `button`; the action is taken when the user confirms them ([act]). */
    fun start(button: OrderButton) { _form.value = presenter.form(button); _actError.value = null }
    fun edit(change: (OrderActForm) -> OrderActForm) { _form.value = _form.value?.let(change) }
    fun close() { _form.value = null; _actError.value = null }

    fun addPhoto(bytes: ByteArray) = viewModelScope.launch {
        val form = _form.value ?: return@launch
        val (next, error) = withContext(Dispatchers.IO) { presenter.addPhoto(form, bytes) }
        _form.value = next
        _actError.value = error
    }

    fun act(orderId: String) {
        val form = _form.value ?: return
        viewModelScope.launch {
            when (val after = withContext(Dispatchers.IO) { presenter.act(orderId, form) }) {
                is ScreenState.Loaded -> { _detail.value = after; close() }
                is ScreenState.Failed -> _actError.value = after.error
                else -> {}
            }
        }
    }

    fun startRequest(household: String) { _requested.value = null; io(_request) { presenter.requestForm(household) } }
    fun editRequest(change: (OrderRequestForm) -> OrderRequestForm) {
        (_request.value as? ScreenState.Loaded)?.let { _request.value = ScreenState.Loaded(change(it.content)) }
    }
    fun submitRequest() {
        val form = (_request.value as? ScreenState.Loaded)?.content ?: return
        viewModelScope.launch { _requested.value = withContext(Dispatchers.IO) { presenter.request(form) } }
    }
}

/** The order list; on a volunteer's device "my orders" (我的服务单) with their points on top. */
@Composable
fun OrderListScreen(vm: OrdersViewModel, onOpen: (String) -> Unit) {
    val state by vm.list.collectAsState()
    LaunchedEffect(Unit) { vm.refresh() }
    StateView(state, vm::refresh) { screen ->
        Column {
            screen.points?.let { p ->
                Column(Modifier.padding(16.dp)) {
                    Text(stringResource(R.string.points_balance, p.balance.toLong()), style = MaterialTheme.typography.titleLarge)
                    Text(stringResource(R.string.points_detail, p.earned.toLong(), p.redeemed.toLong()))
                    if (p.pending > 0u) Text(stringResource(R.string.points_pending, p.pending.toLong()))
                }
            }
            if (screen.rows.isEmpty()) Text(stringResource(R.string.orders_empty), Modifier.padding(16.dp))
            LazyColumn {
                items(screen.rows) { row ->
                    Column(Modifier.clickable { onOpen(row.orderId) }.padding(16.dp, 8.dp)) {
                        Text("${row.service} · ${textByKey(row.stageKey)}", style = MaterialTheme.typography.titleSmall)
                        val c = row.contact
                        if (c == null) {
                            Text(row.householdCode)
                        } else {
                            Text(listOfNotNull(c.resident, c.address).joinToString(" · "))
                            c.phone?.let { Text(stringResource(R.string.order_phone, it)) }
                        }
                        row.due?.let { Text(stringResource(R.string.order_due, it)) }
                        if (row.overdueDays > 0u) {
                            Text(stringResource(R.string.overdue_days, row.overdueDays.toInt()), color = MaterialTheme.colorScheme.error)
                        }
                    }
                }
                if (screen.history.isNotEmpty()) {
                    item { Text(stringResource(R.string.points_history), Modifier.padding(16.dp, 8.dp), style = MaterialTheme.typography.titleMedium) }
                    items(screen.history) { p ->
                        val sign = if (p.credit) "+" else "−"
                        val status = p.statusKey?.let { " · " + textByKey(it) } ?: ""
                        Text("${p.at.take(10)} ${textByKey(p.kindKey)} ${p.name} ×${p.quantity} $sign${p.points}$status", Modifier.padding(16.dp, 4.dp))
                    }
                }
            }
        }
    }
}

/** One order: what to do, where, for whom, and exactly the actions the core allows this user now. */
@Composable
fun OrderDetailScreen(vm: OrdersViewModel, orderId: String) {
    val state by vm.detail.collectAsState()
    val form by vm.form.collectAsState()
    LaunchedEffect(orderId) { vm.open(orderId) }
    StateView(state, { vm.open(orderId) }) { (d, buttons) ->
        Column(Modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
            val service = vm.services.firstOrNull { it.first == d.service }?.second ?: d.service
            Text(service, style = MaterialTheme.typography.titleLarge)
            Text(textByKey(Labels.key(d.stage)))
            Text(listOfNotNull(d.resident, d.address).joinToString(" · "))
            d.phone?.let { Text(stringResource(R.string.order_phone, it)) }
            if (d.note.isNotEmpty()) Text(d.note)
            d.volunteer?.let { Text(stringResource(R.string.order_volunteer, it)) }
            d.due?.let { Text(stringResource(R.string.order_due, it)) }
            if (d.overdueDays > 0u) Text(stringResource(R.string.overdue_days, d.overdueDays.toInt()), color = MaterialTheme.colorScheme.error)
            d.rating?.let { Text(stringResource(R.string.order_rating, it.toInt())) }
            Text(stringResource(R.string.order_points, d.points.toLong()))
            Text(stringResource(R.string.order_history), style = MaterialTheme.typography.titleMedium)
            d.events.forEach { e ->
                Text("${e.at.take(16)} ${textByKey("order_action_${e.action}")} ${e.actor} ${e.note}" + if (e.applied) "" else " ✗")
            }
            val f = form
            if (f == null) {
                Row {
                    buttons.forEach { b ->
                        if (b.primary) Button(onClick = { vm.start(b) }) { Text(textByKey(b.labelKey)) }
                        else OutlinedButton(onClick = { vm.start(b) }) { Text(textByKey(b.labelKey)) }
                    }
                }
            } else {
                OrderActInputs(vm, f) { vm.act(orderId) }
            }
        }
    }
}

@Composable
private fun OrderActInputs(vm: OrdersViewModel, form: OrderActForm, onSubmit: () -> Unit) {
    val actError by vm.actError.collectAsState()
    val asks = form.button.inputs
    Text(textByKey(form.button.labelKey), style = MaterialTheme.typography.titleMedium)
    if (OrderInput.RATING in asks) {
        Text(stringResource(R.string.order_rate))
        Row {
            (1..5).forEach { stars ->
                FilterChip(form.rating?.toInt() == stars, { vm.edit { it.withRating(stars) } }, { Text("★".repeat(stars)) })
            }
        }
    }
    if (OrderInput.VOLUNTEER in asks) {
        OutlinedTextField(form.volunteer, { v -> vm.edit { it.withVolunteer(v) } }, label = { Text(stringResource(R.string.order_volunteer_input)) })
    }
    if (OrderInput.DUE in asks) DueDayField(form.due) { d -> vm.edit { it.withDue(d) } }
    OutlinedTextField(form.note, { n -> vm.edit { it.withNote(n) } }, label = { Text(stringResource(R.string.order_act_note)) })
    if (OrderInput.PHOTOS in asks) OrderPhotoButton(form.photos.size, vm::addPhoto)
    actError?.let { ErrorText(it) }
    Row {
        Button(onClick = onSubmit, enabled = form.canSubmit) { Text(textByKey(form.button.labelKey)) }
        TextButton(onClick = vm::close) { Text(stringResource(R.string.back)) }
    }
}

/** The camera button: the photo goes straight into the encrypted store (see HouseholdScreen's readAndDelete). */
@Composable
private fun OrderPhotoButton(count: Int, onPhoto: (ByteArray) -> Unit) {
    val context = LocalContext.current
    val uri: Uri = remember {
        val file = context.cacheDir.resolve("camera").apply { mkdirs() }.resolve("order.jpg")
        FileProvider.getUriForFile(context, context.packageName + ".photos", file)
    }
    val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        if (ok) {
            context.contentResolver.openInputStream(uri)?.use { it.readBytes() }?.let(onPhoto)
            context.contentResolver.delete(uri, null, null)
        }
    }
    Button(onClick = { camera.launch(uri) }) { Text(stringResource(R.string.take_photo) + " ($count)") }
}

/** The due day: a date picker (never typed text), cleared back to the default with the same button. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun DueDayField(day: String?, onPick: (String?) -> Unit) {
    var open by remember { mutableStateOf(false) }
    val picker = rememberDatePickerState()
    Row {
        OutlinedButton(onClick = { open = true }) { Text(day?.let { stringResource(R.string.order_due, it) } ?: stringResource(R.string.order_due_input)) }
        if (day != null) TextButton(onClick = { onPick(null) }) { Text("✕") }
    }
    if (open) {
        DatePickerDialog(
            onDismissRequest = { open = false },
            confirmButton = {
                TextButton(onClick = { picker.selectedDateMillis?.let { onPick(pickedDay(it)) }; open = false }) { Text(stringResource(R.string.save)) }
            },
        ) { DatePicker(picker) }
    }
}

/** "Order a service for this household" (为该户点单): service, resident, note, due. */
@Composable
fun OrderRequestScreen(vm: OrdersViewModel, householdCode: String, onDone: (String) -> Unit) {
    val state by vm.request.collectAsState()
    val requested by vm.requested.collectAsState()
    LaunchedEffect(householdCode) { vm.startRequest(householdCode) }
    StateView(state, { vm.startRequest(householdCode) }) { form ->
        Column(Modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
            Text(stringResource(R.string.order_request), style = MaterialTheme.typography.titleLarge)
            Text(householdCode)
            Text(stringResource(R.string.order_service), style = MaterialTheme.typography.titleMedium)
            vm.services.forEach { (code, name) ->
                FilterChip(form.service == code, { vm.editRequest { it.withService(code) } }, { Text(name) })
            }
            Text(stringResource(R.string.order_resident), style = MaterialTheme.typography.titleMedium)
            Row {
                form.residents.forEach { r ->
                    FilterChip(form.resident == r, { vm.editRequest { it.withResident(r) } }, { Text(r) })
                }
                FilterChip(form.resident == null, { vm.editRequest { it.withResident(null) } }, { Text(stringResource(R.string.order_whole_household)) })
            }
            OutlinedTextField(form.note, { n -> vm.editRequest { it.withNote(n) } }, label = { Text(stringResource(R.string.order_note)) })
            DueDayField(form.due) { d -> vm.editRequest { it.withDue(d) } }
            Button(onClick = vm::submitRequest, enabled = form.canSubmit) { Text(stringResource(R.string.order_action_request)) }
            when (val r = requested) {
                is ScreenState.Loaded -> LaunchedEffect(r) { onDone(r.content.orderId) }
                is ScreenState.Failed -> ErrorText(r.error)
                else -> {}
            }
        }
    }
}
