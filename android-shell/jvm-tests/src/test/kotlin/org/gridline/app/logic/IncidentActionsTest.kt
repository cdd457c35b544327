// Incident buttons come from the core's allowed actions; acting outside them is refused with a stable code.
package org.gridline.app.logic

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.gridline.core.Action
import org.gridline.core.ErrorCode
import org.gridline.core.Severity
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

class IncidentActionsTest {
    private val store = Fixtures.store()
    private val incidents = IncidentPresenter(store)

    private fun report(): String {
        val category = store.settings().incidentCategories.first().code
        val state = incidents.report(category, Severity.URGENT, "电梯困人", "3号楼1单元", "H-201")
        return assertIs<ScreenState.Loaded<org.gridline.core.IncidentFields>>(state).content.incidentId
    }

    @Test
    fun `buttons are exactly the core's allowed actions`() {
        val id = report()
        val (detail, buttons) = assertIs<ScreenState.Loaded<Pair<org.gridline.core.IncidentDetail, List<ActionButton>>>>(incidents.show(id)).content
        assertEquals(detail.allowedActions, buttons.map { it.action })
        assertTrue(buttons.any { it.action == Action.COMMENT && ActInput.PHOTOS in it.inputs })
        assertFalse(buttons.any { it.action == Action.VERIFY }, "a grid leader does not verify")
        assertEquals(1, assertIs<ScreenState.Loaded<org.gridline.core.IncidentList>>(incidents.list()).content.items.size)
    }

    @Test
    fun `a comment is appended and an action outside the buttons is refused`() {
        val id = report()
        val comment = ActionButton(Action.COMMENT, "action_comment", setOf(ActInput.NOTE), false)
        val after = assertIs<ScreenState.Loaded<Pair<org.gridline.core.IncidentDetail, List<ActionButton>>>>(
            incidents.act(id, IncidentActions.act(comment, note = " 已通知物业 ")),
        ).content.first
        assertEquals(listOf("report", "comment"), after.events.map { it.action })
        assertEquals("已通知物业", after.events.last().note)
        val verify = ActionButton(Action.VERIFY, "action_verify", setOf(ActInput.ASSIGNEE), true)
        val refused = assertIs<ScreenState.Failed>(incidents.act(id, IncidentActions.act(verify, assignee = "张师傅")))
        assertEquals(ErrorCode.ACTION_NOT_ALLOWED, refused.error.code)
    }
}
