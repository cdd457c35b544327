// Service orders (居民点单—社区派单—志愿者接单—居民评单) and the volunteer's points, shaped for the screens. The core
// decides the stage, the due date, overdue, the points and WHICH actions this user may take
// (`OrderDetail.allowedActions`); this layer only turns them into rows, buttons and the inputs each button needs.
package org.gridline.app.logic

import org.gridline.core.CommunitySettings
import org.gridline.core.ErrorCode
import org.gridline.core.NewServiceOrder
import org.gridline.core.OrderAct
import org.gridline.core.OrderAction
import org.gridline.core.OrderDetail
import org.gridline.core.OrderFilter
import org.gridline.core.OrderListItem
import org.gridline.core.PointsBalance
import org.gridline.core.PointsEntry
import org.gridline.core.PointsEntryKind
import org.gridline.core.Role
import org.gridline.core.ServiceOrderFields
import org.gridline.ffi.GridlineException
import org.gridline.ffi.GridlineStore

/**
 * The day a Material date picker's selection stands for, as `YYYY-MM-DD`: the picker gives UTC midnight of the
 * chosen day, whatever the phone's zone. Due days come from a picker, never typed: a text that is not a date
 * fails in the bindings' argument conversion (an internal error, not a [ScreenError]). Whether the day is
 * allowed (today to a year ahead) is the core's to say.
 */
fun pickedDay(utcMillis: Long): String =
    java.time.Instant.ofEpochMilli(utcMillis).atZone(java.time.ZoneOffset.UTC).toLocalDate().toString()

/** A service's display name from the community's catalogue, in Chinese or English; the code when unknown. */
fun serviceName(settings: CommunitySettings, code: String, chinese: Boolean): String =
    settings.serviceCatalogue.firstOrNull { it.code == code }?.let { if (chinese) it.nameZh else it.nameEn } ?: code

/** Who an order serves and how to reach them, as the order carries them. */
data class OrderContact(val resident: String?, val address: String, val phone: String?)

/** One row of an order list. */
data class OrderRow(
    val orderId: String,
    /** `order_stage_<code>` (see [Labels]). */
    val stageKey: String,
    val service: String,
    val householdCode: String,
    /**
     * The resident, address (building-unit-room) and phone copied from the roster into the order: on a volunteer's
     * device, which has no roster to look them up in; null elsewhere (the list shows the household code).
     */
    val contact: OrderContact?,
    /** The volunteer it is dispatched to, or null. */
    val volunteer: String?,
    /** `YYYY-MM-DD`, or null. */
    val due: String?,
    val overdueDays: UInt,
)

/** One row of a volunteer's points history: a credit for a service, or a redemption and where it stands. */
data class PointsRow(
    /** `points_credit` or `points_redemption` (see [Labels]). */
    val kindKey: String,
    /** The service's or the shop item's name. */
    val name: String,
    val quantity: UInt,
    /** Points credited, or a redemption's points (charged once confirmed, quoted while pending or refused). */
    val points: ULong,
    /** True for a credit (+), false for a redemption (−). */
    val credit: Boolean,
    /** `redemption_<status>` for a redemption, null for a credit. */
    val statusKey: String?,
    /** RFC 3339. */
    val at: String,
)

/**
 * The orders screen: on a volunteer's device their points and points history (null and empty elsewhere), and
 * the rows in the core's order.
 */
data class OrdersScreen(val points: PointsBalance?, val rows: List<OrderRow>, val history: List<PointsRow> = emptyList()) {
    /** Orders past their due date and not yet done. */
    val overdue: Int get() = rows.count { it.overdueDays > 0u }
}

/** An input an order action asks for. */
enum class OrderInput { NOTE, PHOTOS, RATING, VOLUNTEER, DUE }

/** One button on the order screen: `labelKey` (`order_action_<code>`, see [Labels]) is its string resource. */
data class OrderButton(val action: OrderAction, val labelKey: String, val inputs: Set<OrderInput>, val primary: Boolean)

object OrderActions {
    private fun inputs(a: OrderAction): Set<OrderInput> = when (a) {
        OrderAction.DISPATCH -> setOf(OrderInput.VOLUNTEER, OrderInput.DUE, OrderInput.NOTE)
        OrderAction.DONE -> setOf(OrderInput.NOTE, OrderInput.PHOTOS)
        OrderAction.EVALUATE -> setOf(OrderInput.RATING, OrderInput.NOTE)
        OrderAction.COMMENT -> setOf(OrderInput.NOTE, OrderInput.PHOTOS)
        OrderAction.REQUEST, OrderAction.ACCEPT, OrderAction.DECLINE, OrderAction.CANCEL -> setOf(OrderInput.NOTE)
    }

    /** The buttons for `detail`, in the core's order; the first stage-moving action is primary. */
    fun buttons(detail: OrderDetail): List<OrderButton> {
        val actions = detail.allowedActions
        val primary = actions.firstOrNull { it != OrderAction.COMMENT }
        return actions.map { OrderButton(it, Labels.key(it), inputs(it), it == primary) }
    }
}

/**
 * What the user entered for one action. Immutable: every edit returns a new state. Values (note length, photo
 * count, the rating's range, the due day's window) are checked by the core; the form only knows what is
 * still missing.
 */
data class OrderActForm(
    val button: OrderButton,
    val note: String = "",
    /** SHA-256 hashes returned by `GridlineStore.addPhoto` as each photo is taken. */
    val photos: List<String> = emptyList(),
    /** 1–5 stars (评单), or null while none is picked. */
    val rating: UByte? = null,
    val volunteer: String = "",
    /** `YYYY-MM-DD` from the date picker ([pickedDay]), or null: the request's due day or the community's default. */
    val due: String? = null,
) {
    /** A rating is picked when the action asks for one; a volunteer is named when it asks for one. */
    val canSubmit: Boolean
        get() = (OrderInput.RATING !in button.inputs || rating != null) &&
            (OrderInput.VOLUNTEER !in button.inputs || volunteer.isNotBlank())

    fun withNote(n: String) = copy(note = n)
    fun withPhoto(hash: String) = if (hash in photos) this else copy(photos = photos + hash)
    fun withoutPhoto(hash: String) = copy(photos = photos - hash)

    /** Stars 1–5; any other value clears the rating (the screen only offers 1–5). */
    fun withRating(stars: Int) = copy(rating = stars.takeIf { it in 1..5 }?.toUByte())
    fun withVolunteer(v: String) = copy(volunteer = v)
    fun withDue(day: String?) = copy(due = day)

    /** The act to send, or null while [canSubmit] is false. Inputs the action does not ask for are left out. */
    fun toAct(): OrderAct? {
        if (!canSubmit) return null
        val asks = button.inputs
        return OrderAct(
            action = button.action,
            note = note.trim(),
            volunteer = volunteer.trim().takeIf { OrderInput.VOLUNTEER in asks && it.isNotEmpty() },
            due = due.takeIf { OrderInput.DUE in asks },
            rating = rating.takeIf { OrderInput.RATING in asks },
            photos = if (OrderInput.PHOTOS in asks) photos else emptyList(),
        )
    }
}

/** The "order a service for this household" form (为该户点单). Immutable: every edit returns a new state. */
data class OrderRequestForm(
    val householdCode: String,
    /** The household's residents (not moved out), for the picker; the first is picked at start. */
    val residents: List<String>,
    /** A code from the community's service catalogue, or null while none is picked. */
    val service: String? = null,
    /** The resident served, or null: the household as a whole. */
    val resident: String? = residents.firstOrNull(),
    val note: String = "",
    /** `YYYY-MM-DD` from the date picker ([pickedDay]), or null: the community's default due days. */
    val due: String? = null,
    /** The visit the need was found on, when the request starts from a visit. */
    val fromVisit: String? = null,
) {
    /** A service is picked. */
    val canSubmit: Boolean get() = service != null

    fun withService(code: String) = copy(service = code)
    fun withResident(name: String?) = copy(resident = name)
    fun withNote(n: String) = copy(note = n)
    fun withDue(day: String?) = copy(due = day)

    /** The request to save, or null while [canSubmit] is false. */
    fun toNewServiceOrder(): NewServiceOrder? {
        val code = service ?: return null
        return NewServiceOrder(
            householdCode = householdCode,
            resident = resident,
            service = code,
            note = note.trim(),
            due = due,
            fromVisit = fromVisit,
        )
    }
}

/** The order screens. Every call does I/O: call from a background dispatcher. */
class OrdersPresenter(private val store: GridlineStore, private val chinese: Boolean = true) {
    private val settings: CommunitySettings by lazy { store.settings() }

    /**
     * The orders this device holds, as rows. With `mine` only the user's own: on a volunteer's device the
     * orders dispatched to them (我的服务单), with their points balance on top.
     */
    fun list(mine: Boolean = false, overdueOnly: Boolean = false): ScreenState<OrdersScreen> = load {
        val list = store.orderList(OrderFilter(stage = null, mine = mine, grid = null, overdue = overdueOnly))
        val volunteer = isVolunteer()
        val points = if (volunteer) store.pointsBalance(null) else null
        val history = if (volunteer) store.pointsHistory(null).map(::pointsRow) else emptyList()
        // The list items carry no contact; a volunteer's device holds only the orders dispatched to it (a few), so
        // each row reads its order's detail. An order a sync withdrew in between is gone: its row is left out.
        val rows = if (volunteer) {
            list.items.mapNotNull { item -> contactOf(item.orderId)?.let { row(item, it) } }
        } else {
            list.items.map { row(it, null) }
        }
        OrdersScreen(points, rows, history)
    }

    /** One order with its history and buttons. */
    fun show(orderId: String): ScreenState<Pair<OrderDetail, List<OrderButton>>> =
        load { store.orderDetail(orderId).let { it to OrderActions.buttons(it) } }

    /** A new, empty form for `button`. */
    fun form(button: OrderButton) = OrderActForm(button)

    /** Stores a photo just taken (the done photo) and adds it to the form. */
    fun addPhoto(form: OrderActForm, jpeg: ByteArray): Pair<OrderActForm, ScreenError?> =
        try {
            form.withPhoto(store.addPhoto(jpeg)) to null
        } catch (e: GridlineException) {
            form to ErrorMessages.of(e)
        }

    /** Takes the action; the screen shows the order after it. Null while the form is incomplete. */
    fun act(orderId: String, form: OrderActForm): ScreenState<Pair<OrderDetail, List<OrderButton>>>? {
        val act = form.toAct() ?: return null
        return load { store.orderAct(orderId, act).let { it to OrderActions.buttons(it) } }
    }

    /** A new request form for a household, with its residents to pick from. */
    fun requestForm(householdCode: String): ScreenState<OrderRequestForm> = load {
        val residents = store.householdDetail(householdCode).residents.filterNot { it.movedOut }.map { it.name }
        OrderRequestForm(householdCode, residents)
    }

    /** Saves a request (点单). Null while the form is incomplete. */
    fun request(form: OrderRequestForm): ScreenState<ServiceOrderFields>? {
        val order = form.toNewServiceOrder() ?: return null
        return load { store.requestService(order) }
    }

    /** The catalogue's services as (code, name) for the picker, in the catalogue's order. Memory only. */
    fun services(): List<Pair<String, String>> =
        settings.serviceCatalogue.map { it.code to if (chinese) it.nameZh else it.nameEn }

    private fun isVolunteer() = store.device().role == Role.VOLUNTEER

    /** The contact the order carries, or null when the order is no longer on this device. */
    private fun contactOf(orderId: String): OrderContact? =
        try {
            store.orderDetail(orderId).let { OrderContact(it.resident, it.address, it.phone) }
        } catch (e: GridlineException.Rejected) {
            if (e.code == ErrorCode.NOT_FOUND) null else throw e
        }

    private fun pointsRow(e: PointsEntry): PointsRow {
        val credit = e.kind == PointsEntryKind.CREDIT
        val name = if (credit) {
            serviceName(settings, e.code, chinese)
        } else {
            settings.shopItems.firstOrNull { it.code == e.code }?.let { if (chinese) it.nameZh else it.nameEn } ?: e.code
        }
        return PointsRow(Labels.key(e.kind), name, e.quantity, e.points, credit, e.status?.let(Labels::key), e.at)
    }

    private fun row(item: OrderListItem, contact: OrderContact?) = OrderRow(
        orderId = item.orderId,
        stageKey = Labels.key(item.stage),
        service = serviceName(settings, item.service, chinese),
        householdCode = item.householdCode,
        contact = contact,
        volunteer = item.volunteer,
        due = item.due,
        overdueDays = item.overdueDays,
    )
}
