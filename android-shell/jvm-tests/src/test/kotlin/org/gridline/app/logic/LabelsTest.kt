// Every value of the core's enums a screen shows has a string in Chinese and in English.
package org.gridline.app.logic

import kotlin.test.assertTrue
import org.gridline.core.Action
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.DueContact
import org.gridline.core.OrderAction
import org.gridline.core.OrderStage
import org.gridline.core.PointsEntryKind
import org.gridline.core.RedemptionStatus
import org.gridline.core.Severity
import org.gridline.core.Stage
import org.junit.jupiter.api.Test

class LabelsTest {
    @Test
    fun `every enum value has a label in both locales`() {
        val keys = DueContact.entries.map(Labels::key) + CheckInKind.entries.map(Labels::key) +
            CheckInOutcome.entries.map(Labels::key) + Stage.entries.map(Labels::key) +
            Severity.entries.map(Labels::key) + Action.entries.map(Labels::key) +
            OrderStage.entries.map(Labels::key) + OrderAction.entries.map(Labels::key) +
            RedemptionStatus.entries.map(Labels::key) + PointsEntryKind.entries.map(Labels::key) +
            Tab.entries.map { it.labelKey }
        for (dir in listOf("values", "values-en")) {
            val missing = keys.toSet() - Fixtures.stringNames(dir)
            assertTrue(missing.isEmpty(), "$dir/strings.xml lacks $missing")
        }
    }
}
