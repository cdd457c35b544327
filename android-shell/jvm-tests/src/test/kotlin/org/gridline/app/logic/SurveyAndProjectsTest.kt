// The survey and project-rating presenters on one device against the real library: the form's items come from
// the community's configuration, a second survey of a household this year is refused with `already_surveyed`,
// a rating before the project is done with `project_not_done`, and a household's second rating replaces its
// first.
package org.gridline.app.logic

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.gridline.core.ErrorCode
import org.gridline.core.NewProject
import org.gridline.core.ProjectStatus
import org.gridline.core.RatingState
import org.gridline.core.Role
import org.gridline.core.Survey
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

class SurveyAndProjectsTest {
    @Test
    fun `a household's survey is recorded once a year and the form shows the one that stands`() {
        val store = Fixtures.store()
        val zh = SurveyPresenter(store, chinese = true)
        val form = assertIs<ScreenState.Loaded<SurveyForm>>(zh.form("H-201")).content
        val items = store.settings().surveyItems
        assertEquals(items.map { it.nameZh }, form.items.map { it.name }, "the configuration's items, in its order")
        assertEquals(items.map { it.nameEn }, assertIs<ScreenState.Loaded<SurveyForm>>(SurveyPresenter(store, chinese = false).form("H-201")).content.items.map { it.name })
        assertNull(form.existing)
        assertFalse(form.canSubmit)
        assertNull(zh.record(form), "nothing answered: nothing to record")

        val partly = form.withAnswer(0, 5).withAnswer(1, 9).withAnswer(42, 3)
        assertEquals(1, partly.answered, "a score out of 1-5 and an item out of range are not answers")
        assertNull(zh.record(partly))
        val full = form.items.indices.fold(form) { f, i -> f.withAnswer(i, 5 - i % 5) }
        assertTrue(full.canSubmit)
        val survey = assertIs<ScreenState.Loaded<Survey>>(zh.record(full)).content
        assertEquals(full.answers.map { it!!.toByte() }, survey.answers.toList())

        val again = assertIs<ScreenState.Loaded<SurveyForm>>(zh.form("H-201")).content
        assertEquals(survey.surveyId, again.existing?.surveyId, "the form shows the survey that stands")
        val refused = assertIs<ScreenState.Failed>(zh.record(again.items.indices.fold(again) { f, i -> f.withAnswer(i, 1) }))
        assertEquals(ErrorCode.ALREADY_SURVEYED, refused.error.code)
        assertEquals("error_already_surveyed", refused.error.messageKey)
        assertEquals(ErrorHandling.SHOW, refused.error.handling)
        assertEquals(survey.answers.toList(), store.householdSurvey("H-201", survey.year)?.answers?.toList(), "the refused survey wrote nothing")
    }

    @Test
    fun `a project is rated for a household only once done and a second rating replaces the first`() {
        val store = Fixtures.store(Role.COMMITTEE, "李主任")
        val projects = ProjectsPresenter(store)
        val fields = store.projectCreate(
            NewProject(title = "楼道适老化改造", category = "助老", organisation = "幸福里社工服务中心", budgetYuan = null, needs = emptyList(), from = null, to = null),
        )
        val id = fields.projectId
        assertEquals(emptyList(), assertIs<ScreenState.Loaded<List<ProjectRow>>>(projects.done()).content, "only done projects are listed")
        val planned = assertIs<ScreenState.Loaded<ProjectScreen>>(projects.show(id, "H-201")).content
        assertEquals("project_status_planned", planned.statusKey)
        assertFalse(planned.mayRate, "the core offers no rating before done")

        val form = projects.form("H-201")
        assertFalse(form.canSubmit)
        assertNull(projects.rate(id, form), "no rating picked: nothing to record")
        assertNull(form.withRating(0).rating)
        val refused = assertIs<ScreenState.Failed>(projects.rate(id, form.withRating(4)))
        assertEquals(ErrorCode.PROJECT_NOT_DONE, refused.error.code)
        assertEquals("error_project_not_done", refused.error.messageKey)

        store.projectUpdate(id, ProjectStatus.ACTIVE, "")
        store.projectUpdate(id, ProjectStatus.DONE, "结项")
        val row = assertIs<ScreenState.Loaded<List<ProjectRow>>>(projects.done()).content.single()
        assertEquals(id, row.projectId)
        assertEquals("project_status_done", row.statusKey)
        assertEquals(0u, row.ratingCount)

        val first = assertIs<ScreenState.Loaded<ProjectScreen>>(projects.rate(id, form.withRating(2).withNote("  太晚了 "))).content
        assertTrue(first.mayRate)
        assertEquals(2L, first.householdRating?.rating)
        assertEquals("太晚了", first.householdRating?.note)
        val second = assertIs<ScreenState.Loaded<ProjectScreen>>(projects.rate(id, form.withRating(5))).content
        val standing = assertNotNull(second.householdRating)
        assertEquals(5L, standing.rating, "the later rating stands")
        assertEquals(1u, second.detail.ratings.count)
        assertEquals(5.0, second.detail.ratings.average)
        assertEquals(listOf(RatingState.REPLACED), second.detail.ratings.items.filter { it.rating == 2L }.map { it.state })
        val other = assertIs<ScreenState.Loaded<ProjectScreen>>(projects.show(id, "H-101")).content
        assertNull(other.householdRating, "another household has not rated it")
    }
}
