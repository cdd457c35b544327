// Tapping through the shared screens with Compose's desktop UI test API over a real store: a door check-in from
// the rounds list, and a phone check-in that finds a problem and leads on to an incident report.
package org.gridline.harness

import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.assertIsNotEnabled
import androidx.compose.ui.test.hasSetTextAction
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performTextInput
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import org.gridline.app.logic.Lang
import org.gridline.app.logic.RoundsPresenter
import org.gridline.app.logic.RoundsScreen
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.Strings
import org.gridline.app.logic.Tab
import org.gridline.app.ui.Destination
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.IncidentFilter
import org.gridline.ffi.GridlineStore
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

@OptIn(ExperimentalTestApi::class)
class CheckInFlowTest {
    private val zh = Strings(Lang.ZH)
    private val phone = Phone(1080, 2340, 3f, 1f)

    private fun rounds(store: GridlineStore): RoundsScreen =
        assertIs<ScreenState.Loaded<RoundsScreen>>(RoundsPresenter(store).load()).content

    private fun address(store: GridlineStore, code: String): String {
        val d = store.householdDetail(code)
        return zh.format("address_format", d.building, d.unit, d.floor, d.room)
    }

    /** The addresses the rounds list shows now, in its order. */
    private fun SkikoComposeUiTest.shownAddresses(store: GridlineStore): List<String> {
        val all = rounds(store).rows.map { zh.format("address_format", it.building, it.unit, it.floor, it.room) } +
            listOf("H-101", "H-201", "H-502").map { address(store, it) }
        return all.distinct().filter { onAllNodes(androidx.compose.ui.test.hasText(it)).fetchSemanticsNodes().isNotEmpty() }
    }

    @Test
    fun `a door check-in from the rounds list is stored and the household leaves the rounds`() {
        val store = Fixtures.store()
        val h101 = address(store, "H-101")
        onPhone(phone) {
            setContent { PhoneApp(store, zh, Destination.Root(Tab.ROUNDS)) }
            assertTrue(h101 in shownAddresses(store), "H-101 is on today's rounds")
            onNodeWithText(h101).performClick()
            onNodeWithText(zh["checkin_start"]).performClick()
            onNodeWithText(zh["save"]).assertIsNotEnabled()
            onNodeWithText(zh["kind_door"]).performClick()
            onNodeWithText(zh["outcome_well"]).performClick()
            onAllNodes(hasSetTextAction())[0].performTextInput("老人身体不错")
            onNodeWithText(zh.format("take_photo_count", 0)).performClick()
            onNodeWithText(zh["add_location"]).performClick()
            onNodeWithText(zh.format("take_photo_count", 1)).assertExists()
            onNodeWithText(zh["location_added"]).assertExists()
            onNodeWithText(zh["save"]).performClick()
            waitForIdle()
            // Back on the household, which lists the check-in; then back to the rounds, without it.
            onNodeWithText("老人身体不错", substring = true).assertExists()
            onNodeWithContentDescription(zh["back"]).performClick()
            waitForIdle()
            assertFalse(h101 in shownAddresses(store), "the rounds list no longer shows H-101")
            assertTrue(address(store, "H-201") in shownAddresses(store))
        }
        val checkIn = store.householdDetail("H-101").checkIns.single()
        assertEquals(CheckInKind.DOOR, checkIn.kind)
        assertEquals(CheckInOutcome.WELL, checkIn.outcome)
        assertEquals("老人身体不错", checkIn.note)
        assertEquals(1, checkIn.photos.size)
        assertFalse(rounds(store).rows.any { it.householdCode == "H-101" })
    }

    @Test
    fun `a problem found leads on to an incident report linked to the check-in`() {
        val store = Fixtures.store()
        val before = rounds(store).rows.single { it.householdCode == "H-502" }
        val h502 = address(store, "H-502")
        onPhone(phone) {
            setContent { PhoneApp(store, zh, Destination.Root(Tab.ROUNDS)) }
            onNodeWithText(h502).performClick()
            onNodeWithText(zh["checkin_start"]).performClick()
            onNodeWithText(zh["kind_phone"]).performClick()
            onNodeWithText(zh["outcome_problem"]).performClick()
            onNodeWithText(zh["checkin_leads_to_incident"]).assertExists()
            onNodeWithText(zh["save"]).performClick()
            waitForIdle()
            // The check-in gave way to the incident report for the same household.
            onNodeWithText(zh.format("incident_for_household", "H-502")).assertExists()
            onNodeWithText("环境卫生").performClick()
            onAllNodes(hasSetTextAction())[0].performTextInput("楼道堆放杂物")
            onAllNodes(hasSetTextAction())[1].performTextInput("纸箱堵住轮椅通道")
            onNodeWithText(zh["save"]).performClick()
            waitForIdle()
            // The incident's own screen.
            onNodeWithText("纸箱堵住轮椅通道").assertExists()
            onNodeWithText(zh["stage_reported"]).assertExists()
            onNodeWithText(zh["tab_rounds"], useUnmergedTree = true).performClick()
            waitForIdle()
            val shown = shownAddresses(store)
            assertEquals(rounds(store).rows.map { zh.format("address_format", it.building, it.unit, it.floor, it.room) }, shown)
        }
        val checkIn = store.householdDetail("H-502").checkIns.single()
        assertEquals(CheckInOutcome.PROBLEM, checkIn.outcome)
        val incident = store.incidentList(IncidentFilter(null, null, null, false, false)).items.single()
        val detail = store.incidentDetail(incident.incidentId)
        assertEquals("H-502", detail.householdCode)
        assertEquals(checkIn.checkInId, detail.checkInId)
        assertEquals("environment", detail.category)
        val after = rounds(store).rows.singleOrNull { it.householdCode == "H-502" }
        assertNotEquals(before, after, "the phone call changed H-502's place on the rounds")
        after?.let { assertNotNull(it.lastContact) }
    }
}
