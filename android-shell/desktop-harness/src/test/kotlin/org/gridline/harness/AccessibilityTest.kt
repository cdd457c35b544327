// The rounds, check-in, survey and project-rating screens at font scale 1.3, on the big and the small phone, in both languages: no text
// cut off or drawn over other text, touch targets of at least 48 dp with a name to read, icons described, and a
// reading order (the semantics tree's) that follows the screen from top to bottom.
package org.gridline.harness

import androidx.compose.ui.semantics.SemanticsNode
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SemanticsMatcher
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.gridline.app.logic.Lang
import org.gridline.app.logic.Strings
import org.gridline.app.logic.Tab
import org.gridline.app.ui.Destination
import org.gridline.core.NewProject
import org.gridline.core.NewProjectRating
import org.gridline.core.ProjectStatus
import org.gridline.core.Role
import org.gridline.ffi.GridlineStore
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

@OptIn(ExperimentalTestApi::class)
class AccessibilityTest {
    private val phones = Phone.ALL.filter { it.fontScale == 1.3f }

    /** Runs `check` on `at` for every large-font phone in both languages. */
    private fun everywhere(
        at: Destination,
        store: GridlineStore = Fixtures.store(roster = FieldDay.ROSTER),
        prepare: SkikoComposeUiTest.(Strings) -> Unit = {},
        check: SkikoComposeUiTest.(Strings, Phone) -> Unit,
    ) {
        for (lang in Lang.entries) for (phone in phones) {
            val strings = Strings(lang)
            onPhone(phone) {
                setContent { PhoneApp(store, strings, at) }
                waitForIdle()
                prepare(strings)
                waitForIdle()
                check(strings, phone)
            }
        }
    }

    private fun SkikoComposeUiTest.assertFits(where: String) {
        assertEquals(emptyList(), Layout.clippedTexts(this), "$where: text cut off")
        assertEquals(emptyList(), Layout.overlappingTexts(this), "$where: text over text")
    }

    private fun SkikoComposeUiTest.assertAccessible(where: String, phone: Phone, strings: Strings) {
        assertEquals(emptyList(), Layout.touchTargets(this, 48f * phone.density), "$where: touch targets")
        assertEquals(emptyList(), Layout.undescribedIcons(this), "$where: icons")
        val icons = onAllNodes(SemanticsMatcher.keyIsDefined(SemanticsProperties.ContentDescription), useUnmergedTree = true)
            .fetchSemanticsNodes().flatMap { it.config.getOrNull(SemanticsProperties.ContentDescription).orEmpty() }
        assertTrue(strings["tab_sync"] in icons, "$where: the sync action's icon reads as ${strings["tab_sync"]}: $icons")
        assertReadingOrder(where)
    }

    /** The title first, then the screen's text top to bottom (left to right on one line), the tabs last. */
    private fun SkikoComposeUiTest.assertReadingOrder(where: String) {
        // What is on screen now (a node scrolled out has empty bounds).
        val texts = Layout.readingOrder(this).filter { it.boundsInRoot.width > 0f && it.boundsInRoot.height > 0f }
        val tabsTop = texts.filter { it.isTabLabel() }.minOfOrNull { it.boundsInRoot.top } ?: Float.MAX_VALUE
        val content = texts.filter { it.boundsInRoot.top < tabsTop }
        assertTrue(content.first().boundsInRoot.top <= content.minOf { it.boundsInRoot.top } + 0.5f, "$where: the title is read first, above ${content.minBy { it.boundsInRoot.top }.let { it.label() to it.boundsInRoot }}")
        content.zipWithNext().forEach { (a, b) ->
            val sameLine = kotlin.math.abs(a.boundsInRoot.top - b.boundsInRoot.top) < 2f || a.boundsInRoot.overlapsVertically(b)
            val inOrder = if (sameLine) b.boundsInRoot.left >= a.boundsInRoot.left - 0.5f else b.boundsInRoot.top > a.boundsInRoot.top
            assertTrue(inOrder, "$where: \"${a.label()}\" is read before \"${b.label()}\" but is not above or before it")
        }
        assertTrue(texts.takeLast(texts.size - content.size).all { it.isTabLabel() }, "$where: the tabs are read last")
    }

    private fun SemanticsNode.label() = config.getOrNull(SemanticsProperties.Text)?.joinToString(" ") { it.text } ?: ""
    private fun SemanticsNode.isTabLabel() = Tab.entries.any { tab -> Lang.entries.any { label() == Strings(it)[tab.labelKey] } } &&
        boundsInRoot.top > 0f && parentChain().any { p -> p.config.getOrNull(SemanticsProperties.SelectableGroup) != null }
    private fun SemanticsNode.parentChain(): List<SemanticsNode> = generateSequence(parent) { it.parent }.toList()
    private fun androidx.compose.ui.geometry.Rect.overlapsVertically(o: SemanticsNode) =
        top < o.boundsInRoot.bottom && o.boundsInRoot.top < bottom

    @Test
    fun `the rounds list fits at font scale 1_3 and reads top to bottom`() {
        everywhere(Destination.Root(Tab.ROUNDS)) { strings, phone ->
            val where = "rounds ${strings.lang} ${phone.label}"
            assertFits(where)
            assertAccessible(where, phone, strings)
        }
    }

    @Test
    fun `the check-in form fits at font scale 1_3 and reads top to bottom`() {
        everywhere(Destination.CheckIn("H-502"), prepare = { s ->
            onNodeWithText(s["kind_absent"]).performClick()
            onNodeWithText(s["outcome_problem"]).performClick()
        }) { strings, phone ->
            val where = "check-in ${strings.lang} ${phone.label}"
            assertFits(where)
            assertAccessible(where, phone, strings)
        }
    }

    @Test
    fun `the survey form fits at font scale 1_3 and reads top to bottom`() {
        everywhere(Destination.Survey("H-201"), prepare = { s ->
            val first = Fixtures.store().settings().surveyItems.first()
            onNodeWithContentDescription(s.format("survey_score", if (s.lang == Lang.ZH) first.nameZh else first.nameEn, 4)).performClick()
        }) { strings, phone ->
            val where = "survey ${strings.lang} ${phone.label}"
            assertFits(where)
            assertAccessible(where, phone, strings)
        }
    }

    /** A committee's store (committees rate too) with one done project, rated by H-502. */
    private fun withDoneProject(): Pair<GridlineStore, String> {
        val store = Fixtures.store(Role.COMMITTEE, "李主任", roster = FieldDay.ROSTER)
        val id = store.projectCreate(
            NewProject(title = "独居老人助餐服务", category = "助老", organisation = "幸福里社工服务中心", budgetYuan = null, needs = emptyList(), from = "2026-03-01", to = "2026-10-31"),
        ).projectId
        store.projectUpdate(id, ProjectStatus.ACTIVE, "")
        store.projectUpdate(id, ProjectStatus.DONE, "")
        store.projectEvaluate(id, NewProjectRating("H-502", 4u, "饭菜可口，就是送得有点晚"))
        return store to id
    }

    @Test
    fun `the project list and a project's rating fit at font scale 1_3 and read top to bottom`() {
        val (store, id) = withDoneProject()
        everywhere(Destination.Projects("H-201"), store) { strings, phone ->
            val where = "projects ${strings.lang} ${phone.label}"
            assertFits(where)
            assertAccessible(where, phone, strings)
        }
        everywhere(Destination.ProjectRating(id, "H-201"), store, prepare = { s ->
            onNodeWithText(s.format("order_stars", 3)).performClick()
        }) { strings, phone ->
            val where = "project rating ${strings.lang} ${phone.label}"
            assertFits(where)
            assertAccessible(where, phone, strings)
        }
    }
}
