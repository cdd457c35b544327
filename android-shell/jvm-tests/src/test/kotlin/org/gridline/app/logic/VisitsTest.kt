// A social worker's visit through the presenter and the real library.
package org.gridline.app.logic

import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.gridline.core.DueContact
import org.gridline.core.ErrorCode
import org.gridline.core.Role
import org.gridline.core.VisitsDue
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

class VisitsTest {
    @Test
    fun `a home visit is recorded and the form's invalid satisfaction is refused by the core`() {
        val store = Fixtures.store(Role.SOCIAL_WORKER, "陈社工")
        val visits = VisitsPresenter(store)
        val due = assertIs<ScreenState.Loaded<VisitsDue>>(visits.due()).content
        assertTrue(due.items.any { it.resident == "王秀英" && it.contact == DueContact.HOME })
        val service = store.settings().visitServices.first().code
        val form = VisitFormState("H-201", listOf("王秀英")).toggleService(service).toggleService("x").toggleService("x")
            .copy(needs = " 助餐 ", satisfaction = 5u)
        val visit = assertIs<ScreenState.Loaded<org.gridline.core.Visit>>(visits.record(form)).content
        assertEquals(listOf(service), visit.services)
        assertEquals("助餐", visit.needs)
        val refused = assertIs<ScreenState.Failed>(visits.record(form.copy(satisfaction = 9u)))
        assertEquals(ErrorCode.INVALID_INPUT, refused.error.code)
    }
}
