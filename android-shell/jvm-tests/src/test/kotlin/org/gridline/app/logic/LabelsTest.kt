// Every value of the core's enums a screen shows has a string in Chinese and in English.
package org.gridline.app.logic

import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.gridline.core.Action
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.DueContact
import org.gridline.core.OrderAction
import org.gridline.core.OrderStage
import org.gridline.core.PointsEntryKind
import org.gridline.core.ProjectStatus
import org.gridline.core.RatingState
import org.gridline.core.RedemptionStatus
import org.gridline.core.Severity
import org.gridline.core.Stage
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

/** The message key of every value of the core's enums a screen shows, and of every tab. */
internal val enumKeys: Set<String> = (
    DueContact.entries.map(Labels::key) + CheckInKind.entries.map(Labels::key) +
        CheckInOutcome.entries.map(Labels::key) + Stage.entries.map(Labels::key) +
        Severity.entries.map(Labels::key) + Action.entries.map(Labels::key) +
        OrderStage.entries.map(Labels::key) + OrderAction.entries.map(Labels::key) +
        RedemptionStatus.entries.map(Labels::key) + PointsEntryKind.entries.map(Labels::key) +
        ProjectStatus.entries.map(Labels::key) + RatingState.entries.map(Labels::key) +
        Tab.entries.map { it.labelKey }
    ).toSet()

class LabelsTest {
    @Test
    fun `every enum value has a label in both languages`() {
        val missing = enumKeys - Strings.keys
        assertTrue(missing.isEmpty(), "the message table lacks $missing")
        for (lang in Lang.entries) {
            val strings = Strings(lang)
            assertTrue(enumKeys.none { strings[it].isBlank() || strings[it] == it }, "a blank or missing $lang label")
        }
        assertEquals("一切正常", Strings(Lang.ZH)["outcome_well"])
        assertEquals("逾期 3 天", Strings(Lang.ZH).format("overdue_days", 3))
    }

    @Test
    fun `Chinese is the language of a Chinese locale and English of any other`() {
        assertEquals(Lang.ZH, Lang.of(java.util.Locale.SIMPLIFIED_CHINESE))
        assertEquals(Lang.EN, Lang.of(java.util.Locale.GERMANY))
        assertEquals("no_such_key", Strings(Lang.EN)["no_such_key"], "an unknown key shows itself, never a crash")
    }
}
