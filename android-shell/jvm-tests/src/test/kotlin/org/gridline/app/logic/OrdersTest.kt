// Service orders on one device through the presenters and the real library: a grid leader orders a service for
// a household, the committee dispatches it, the buttons are the core's allowed actions, and the forms ask for
// exactly what each action needs.
package org.gridline.app.logic

import java.time.LocalDate
import java.time.ZoneId
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.gridline.core.ErrorCode
import org.gridline.core.OrderAction
import org.gridline.core.OrderDetail
import org.gridline.core.OrderStage
import org.gridline.core.Role
import org.gridline.core.ServiceOrderFields
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

class OrdersTest {
    /** `n` days from today in the community's time zone, as the core reads a due day. */
    private fun inDays(n: Long) = LocalDate.now(ZoneId.of("Asia/Shanghai")).plusDays(n).toString()

    private fun request(orders: OrdersPresenter, household: String = "H-201", due: String? = null): ServiceOrderFields {
        val form = assertIs<ScreenState.Loaded<OrderRequestForm>>(orders.requestForm(household)).content
        assertFalse(form.canSubmit, "no service picked yet")
        assertNull(orders.request(form))
        val filled = form.withService("meal_delivery").withNote("  午饭送到家 ").withDue(due)
        return assertIs<ScreenState.Loaded<ServiceOrderFields>>(orders.request(filled)).content
    }

    private fun show(orders: OrdersPresenter, id: String) =
        assertIs<ScreenState.Loaded<Pair<OrderDetail, List<OrderButton>>>>(orders.show(id)).content

    @Test
    fun `a grid leader orders a service for a household and the order carries the resident's contact`() {
        val orders = OrdersPresenter(Fixtures.store())
        val fields = request(orders)
        assertEquals("王秀英", fields.resident, "the form picks the household's first resident")
        assertEquals("13800000001", fields.phone, "copied from the roster: a volunteer never receives it")
        assertEquals("午饭送到家", fields.note)
        val screen = assertIs<ScreenState.Loaded<OrdersScreen>>(orders.list()).content
        assertNull(screen.points, "a grid leader's device shows no points balance")
        val row = screen.rows.single()
        assertEquals(fields.orderId, row.orderId)
        assertEquals("order_stage_requested", row.stageKey)
        assertEquals("上门送餐", row.service, "the catalogue's name, not the code")
        assertEquals("H-201", row.householdCode)
        assertNull(row.contact, "a device with the roster lists the household; the order shows the contact")
        val (detail, buttons) = show(orders, fields.orderId)
        assertEquals(OrderStage.REQUESTED, detail.stage)
        assertEquals(detail.allowedActions, buttons.map { it.action })
        assertTrue(OrderAction.CANCEL in detail.allowedActions, "the requester may cancel")
        assertFalse(OrderAction.DISPATCH in detail.allowedActions, "a grid leader does not dispatch")
        assertFalse(OrderAction.ACCEPT in detail.allowedActions)
    }

    @Test
    fun `an action outside the buttons is refused with a stable code and nothing is written`() {
        val orders = OrdersPresenter(Fixtures.store())
        val id = request(orders).orderId
        val accept = OrderButton(OrderAction.ACCEPT, "order_action_accept", setOf(OrderInput.NOTE), true)
        val refused = assertIs<ScreenState.Failed>(orders.act(id, orders.form(accept)))
        assertEquals(ErrorCode.ACTION_NOT_ALLOWED, refused.error.code)
        assertEquals(ErrorHandling.SHOW, refused.error.handling)
        assertEquals(listOf("request"), show(orders, id).first.events.map { it.action })
        val cancel = show(orders, id).second.single { it.action == OrderAction.CANCEL }
        val (after, buttons) = assertIs<ScreenState.Loaded<Pair<OrderDetail, List<OrderButton>>>>(
            orders.act(id, orders.form(cancel).withNote(" 老人住院了 ")),
        ).content
        assertEquals(OrderStage.CANCELLED, after.stage)
        assertEquals("老人住院了", after.events.last().note)
        assertFalse(buttons.any { it.action == OrderAction.CANCEL }, "a cancelled order cannot be cancelled again")
    }

    @Test
    fun `a service outside the catalogue and an unknown household are refused with their codes`() {
        val orders = OrdersPresenter(Fixtures.store())
        val form = OrderRequestForm("H-201", listOf("王秀英")).withService("no_such_service")
        assertEquals(ErrorCode.UNKNOWN_CODE, assertIs<ScreenState.Failed>(orders.request(form)).error.code)
        val missing = assertIs<ScreenState.Failed>(orders.requestForm("nope"))
        assertEquals(ErrorCode.HOUSEHOLD_NOT_FOUND, missing.error.code)
        assertTrue(assertIs<ScreenState.Loaded<OrdersScreen>>(orders.list()).content.rows.isEmpty())
    }

    @Test
    fun `the committee dispatches to a volunteer with a due date and the order names them`() {
        val orders = OrdersPresenter(Fixtures.store(Role.COMMITTEE, "李主任"))
        val id = request(orders).orderId
        val dispatch = show(orders, id).second.single { it.action == OrderAction.DISPATCH }
        assertEquals(setOf(OrderInput.VOLUNTEER, OrderInput.DUE, OrderInput.NOTE), dispatch.inputs)
        val form = orders.form(dispatch)
        assertFalse(form.canSubmit, "a dispatch names a volunteer")
        assertNull(orders.act(id, form))
        val due = inDays(7)
        val (after, buttons) = assertIs<ScreenState.Loaded<Pair<OrderDetail, List<OrderButton>>>>(
            orders.act(id, form.withVolunteer(" 志愿者甲 ").withDue(due)),
        ).content
        assertEquals(OrderStage.DISPATCHED, after.stage)
        assertEquals("志愿者甲", after.volunteer)
        assertEquals(due, after.due)
        assertEquals(0u, after.overdueDays)
        assertFalse(buttons.any { it.action == OrderAction.ACCEPT }, "only the volunteer it is dispatched to accepts")
        val row = assertIs<ScreenState.Loaded<OrdersScreen>>(orders.list()).content.rows.single()
        assertEquals("order_stage_dispatched", row.stageKey)
        assertEquals("志愿者甲", row.volunteer)
    }

    @Test
    fun `a picked due day outside the core's window is refused and one inside is kept`() {
        assertEquals("2026-03-01", pickedDay(java.time.Instant.parse("2026-03-01T00:00:00Z").toEpochMilli()))
        val orders = OrdersPresenter(Fixtures.store())
        val form = assertIs<ScreenState.Loaded<OrderRequestForm>>(orders.requestForm("H-502")).content.withService("errands")
        val past = assertIs<ScreenState.Failed>(orders.request(form.withDue("2020-01-01")))
        assertEquals(ErrorCode.INVALID_INPUT, past.error.code)
        val due = inDays(2)
        val kept = assertIs<ScreenState.Loaded<ServiceOrderFields>>(orders.request(form.withDue(due))).content
        assertEquals(due, kept.due)
        assertNull(OrderRequestForm("H-502", emptyList()).withService("errands").withDue(due).withDue(null).toNewServiceOrder()?.due)
    }

    @Test
    fun `forms ask for a rating on evaluate and send only what each action takes`() {
        val evaluate = OrderButton(OrderAction.EVALUATE, "order_action_evaluate", setOf(OrderInput.RATING, OrderInput.NOTE), true)
        val form = OrderActForm(evaluate)
        assertFalse(form.canSubmit)
        assertNull(form.toAct())
        assertNull(form.withRating(0).rating)
        assertNull(form.withRating(6).rating)
        val act = form.withRating(5).withNote(" 很满意 ").withVolunteer("x").withPhoto("p").toAct()
        assertEquals(5.toUByte(), act?.rating)
        assertEquals("很满意", act?.note)
        assertNull(act?.volunteer, "evaluate names no volunteer")
        assertEquals(emptyList(), act?.photos)
        val done = OrderButton(OrderAction.DONE, "order_action_done", setOf(OrderInput.NOTE, OrderInput.PHOTOS), true)
        val withPhotos = OrderActForm(done).withPhoto("a").withPhoto("a").withPhoto("b").withoutPhoto("b").withRating(3)
        assertEquals(listOf("a"), withPhotos.toAct()?.photos)
        assertNull(withPhotos.toAct()?.rating, "done carries no rating")
    }

    @Test
    fun `a volunteer's device opens on its orders with its points and has no rounds`() {
        assertEquals(Tab.MY_ORDERS, Home.start(Role.VOLUNTEER))
        assertFalse(Tab.ROUNDS in Home.tabs(Role.VOLUNTEER))
        assertEquals(Tab.ROUNDS, Home.start(Role.GRID_LEADER))
        assertTrue(Tab.ORDERS in Home.tabs(Role.GRID_LEADER))
        val volunteer = Fixtures.volunteer("志愿者甲")
        val screen = assertIs<ScreenState.Loaded<OrdersScreen>>(OrdersPresenter(volunteer).list(mine = true)).content
        assertTrue(screen.rows.isEmpty())
        val points = screen.points ?: error("a volunteer's screen shows their points")
        assertEquals("志愿者甲", points.volunteer)
        assertEquals(0uL, points.balance)
    }
}
