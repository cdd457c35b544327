// Tapping through the residents' satisfaction survey (居民满意度测评) from a household's screen over a real store:
// the survey is recorded with the answers tapped, and a second survey of the household this year shows the
// core's refusal.
package org.gridline.harness

import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.assertIsEnabled
import androidx.compose.ui.test.assertIsNotEnabled
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import java.time.LocalDate
import java.time.ZoneId
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import org.gridline.app.logic.Lang
import org.gridline.app.logic.Strings
import org.gridline.app.ui.Destination
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

@OptIn(ExperimentalTestApi::class)
class SurveyFlowTest {
    private val zh = Strings(Lang.ZH)
    private val phone = Phone(720, 1280, 2f, 1.3f)

    @Test
    fun `a survey tapped in from the household's screen is in the store and a second one is refused`() {
        val store = Fixtures.store(roster = FieldDay.ROSTER)
        val items = store.settings().surveyItems
        assertEquals(10, items.size, "the community's ten survey items")
        // A score per item, 1 to 5, so that every position and every value shows in what is stored.
        val scores = items.indices.map { 1 + it % 5 }
        onPhone(phone) {
            setContent { PhoneApp(store, zh, Destination.Household("H-201")) }
            onNodeWithText(zh["survey_start"]).performScrollTo().performClick()
            waitForIdle()
            onNodeWithText(zh["survey_record"]).performScrollTo().assertIsNotEnabled()
            items.zip(scores).forEach { (item, score) ->
                onNodeWithContentDescription(zh.format("survey_score", item.nameZh, score)).performScrollTo().performClick()
            }
            onNodeWithText(zh.format("survey_answered", 10, 10)).performScrollTo().assertExists()
            onNodeWithText(zh["survey_record"]).performScrollTo().assertIsEnabled().performClick()
            waitForIdle()
            // Saved: back on the household's screen.
            onNodeWithText(zh["checkin_start"]).assertExists()

            // Again: the form says when the household was surveyed, and the core refuses a second survey.
            onNodeWithText(zh["survey_start"]).performScrollTo().performClick()
            waitForIdle()
            onNodeWithText(zh.format("survey_by", "王芳")).assertExists()
            items.forEach { item -> onNodeWithContentDescription(zh.format("survey_score", item.nameZh, 5)).performScrollTo().performClick() }
            onNodeWithText(zh["survey_record"]).performScrollTo().performClick()
            waitForIdle()
            onNodeWithText(zh["error_already_surveyed"]).performScrollTo().assertExists()
        }
        val year = LocalDate.now(ZoneId.of(store.settings().timezone)).year.toUInt()
        val survey = assertNotNull(store.householdSurvey("H-201", year), "the store holds the survey")
        assertEquals(scores.map { it.toByte() }, survey.answers.toList())
        assertEquals("H-201", survey.householdCode)
        val report = store.surveyReport(year, null)
        assertEquals(1u, report.total.householdsSurveyed, "the refused second survey was not written")
        assertEquals(0u, report.total.duplicates)
    }
}
