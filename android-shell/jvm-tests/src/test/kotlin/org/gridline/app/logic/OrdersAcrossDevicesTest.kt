// A service order across four phones syncing through a real server, driven through the presenters the screens
// use: the grid leader orders, the committee dispatches to volunteer A, A declines and no longer holds it, B
// accepts and marks it done with a photo, the grid leader rates it, and B's points rise by the catalogue's.
package org.gridline.app.logic

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.gridline.core.ErrorCode
import org.gridline.core.OrderAction
import org.gridline.core.OrderDetail
import org.gridline.core.OrderStage
import org.gridline.core.ServiceOrderFields
import org.gridline.testkit.Fixtures
import org.gridline.testkit.ServerFixture
import org.gridline.testkit.syncNow
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test

class OrdersAcrossDevicesTest {
    private fun show(orders: OrdersPresenter, id: String) =
        assertIs<ScreenState.Loaded<Pair<OrderDetail, List<OrderButton>>>>(orders.show(id)).content

    private fun act(orders: OrdersPresenter, id: String, action: OrderAction, edit: (OrderActForm) -> OrderActForm = { it }): OrderDetail {
        val button = show(orders, id).second.singleOrNull { it.action == action }
            ?: error("$action is not among the buttons ${show(orders, id).second.map { it.action }}")
        return assertIs<ScreenState.Loaded<Pair<OrderDetail, List<OrderButton>>>>(orders.act(id, edit(orders.form(button)))).content.first
    }

    private fun mine(orders: OrdersPresenter) = assertIs<ScreenState.Loaded<OrdersScreen>>(orders.list(mine = true)).content

    @Test
    fun `ordered, dispatched, declined, re-dispatched, done with a photo, rated, credited`() {
        assumeTrue(ServerFixture.bin != null, "set GRIDLINE_SERVER_BIN to a built gridline-server")
        ServerFixture.start().use { server ->
            val leaderStore = server.enroll("王芳", "grid_leader", "g1").also { it.syncNow() }
            val committeeStore = server.enroll("李主任", "committee")
            val aStore = server.enroll("志愿者甲", "volunteer")
            val bStore = server.enroll("志愿者乙", "volunteer")
            val leader = OrdersPresenter(leaderStore)
            val committee = OrdersPresenter(committeeStore)
            val a = OrdersPresenter(aStore)
            val b = OrdersPresenter(bStore)
            val points = leaderStore.settings().serviceCatalogue.single { it.code == "meal_delivery" }.points

            val form = assertIs<ScreenState.Loaded<OrderRequestForm>>(leader.requestForm("H-201")).content
            val order = assertIs<ScreenState.Loaded<ServiceOrderFields>>(
                leader.request(form.withService("meal_delivery").withNote("每天中午送一份饭")),
            ).content
            leaderStore.syncNow()

            committeeStore.syncNow()
            act(committee, order.orderId, OrderAction.DISPATCH) { it.withVolunteer("志愿者甲") }
            committeeStore.syncNow()

            aStore.syncNow()
            val row = mine(a).rows.single()
            assertEquals(order.orderId, row.orderId)
            assertEquals(OrderContact("王秀英", order.address, "13800000001"), row.contact, "what A needs, without a roster")
            val offered = show(a, order.orderId).second.map { it.action }
            assertTrue(OrderAction.ACCEPT in offered && OrderAction.DECLINE in offered, "A may accept or decline: $offered")
            assertEquals(OrderStage.REQUESTED, act(a, order.orderId, OrderAction.DECLINE) { it.withNote("这周不在") }.stage)
            aStore.syncNow()

            committeeStore.syncNow()
            act(committee, order.orderId, OrderAction.DISPATCH) { it.withVolunteer("志愿者乙") }
            committeeStore.syncNow()

            aStore.syncNow()
            assertTrue(mine(a).rows.isEmpty(), "A no longer holds an order dispatched to B")
            assertEquals(ErrorCode.NOT_FOUND, assertIs<ScreenState.Failed>(a.show(order.orderId)).error.code)

            bStore.syncNow()
            assertEquals(0uL, mine(b).points?.balance)
            act(b, order.orderId, OrderAction.ACCEPT)
            val doneForm = b.form(show(b, order.orderId).second.single { it.action == OrderAction.DONE })
            val (withPhoto, photoError) = b.addPhoto(doneForm, Fixtures.PNG)
            assertEquals(null, photoError)
            val done = assertIs<ScreenState.Loaded<Pair<OrderDetail, List<OrderButton>>>>(
                b.act(order.orderId, withPhoto.withNote("已送到")),
            ).content.first
            assertEquals(OrderStage.DONE, done.stage)
            assertEquals(withPhoto.photos, done.photos)
            bStore.syncNow()

            leaderStore.syncNow()
            val rate = show(leader, order.orderId).second.single { it.action == OrderAction.EVALUATE }
            assertTrue(OrderInput.RATING in rate.inputs)
            assertEquals(OrderStage.EVALUATED, act(leader, order.orderId, OrderAction.EVALUATE) { it.withRating(5) }.stage)
            leaderStore.syncNow()

            bStore.syncNow()
            val after = mine(b)
            assertEquals(OrderStage.EVALUATED, show(b, order.orderId).first.stage)
            assertEquals(points.toULong(), after.points?.balance, "B is credited the catalogue's points")
            assertEquals("order_stage_evaluated", after.rows.single().stageKey)
            assertFalse(show(b, order.orderId).second.any { it.action != OrderAction.COMMENT }, "nothing left for B to do")
        }
    }
}
