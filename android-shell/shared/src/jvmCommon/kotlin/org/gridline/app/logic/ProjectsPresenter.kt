// Residents rate a done service project (民事民评): the done projects this device holds, one project with its
// ratings, and the rating form for one household (1–5 and the resident's words). The core decides the status,
// whether this user may rate now (`ProjectDetail.mayEvaluate`), which rating of a household stands and the
// average; this layer only shapes them for the screens.
package org.gridline.app.logic

import org.gridline.core.NewProjectRating
import org.gridline.core.ProjectDetail
import org.gridline.core.ProjectFilter
import org.gridline.core.ProjectListItem
import org.gridline.core.ProjectRatingView
import org.gridline.core.ProjectStatus
import org.gridline.core.RatingState
import org.gridline.ffi.GridlineStore

/** One project of the list. */
data class ProjectRow(
    val projectId: String,
    val title: String,
    val category: String,
    val organisation: String,
    /** `project_status_<code>` (see [Labels]). */
    val statusKey: String,
    /** Households whose rating stands, and their average (null: none yet). */
    val ratingCount: UInt,
    val ratingAverage: Double?,
    /** The project's period, `YYYY-MM-DD` each, when set. */
    val from: String?,
    val to: String?,
)

/** One project as the rating screen shows it, for one household. */
data class ProjectScreen(
    val detail: ProjectDetail,
    /** `project_status_<code>`. */
    val statusKey: String,
    val householdCode: String,
    /** The household's rating that stands, if it rated the project already (a new one replaces it). */
    val householdRating: ProjectRatingView?,
) {
    /** The rating form is offered: the core says this user may record a rating now. */
    val mayRate: Boolean get() = detail.mayEvaluate
}

/** The rating form. Immutable: every edit returns a new state. */
data class ProjectRatingForm(
    val householdCode: String,
    /** 1–5, or null while none is picked. */
    val rating: UByte? = null,
    val note: String = "",
) {
    val canSubmit: Boolean get() = rating != null

    /** Stars 1–5; any other value clears the rating (the screen only offers 1–5). */
    fun withRating(stars: Int) = copy(rating = stars.takeIf { it in 1..5 }?.toUByte())
    fun withNote(n: String) = copy(note = n)

    /** The rating to record, or null while [canSubmit] is false. */
    fun toNewRating(): NewProjectRating? = rating?.let { NewProjectRating(householdCode = householdCode, rating = it, note = note.trim()) }
}

/** The project screens. Every call does I/O: call from a background dispatcher. */
class ProjectsPresenter(private val store: GridlineStore) {
    /** The done projects (the ones residents rate), newest first as the core lists them. */
    fun done(): ScreenState<List<ProjectRow>> = load {
        store.projectList(ProjectFilter(status = ProjectStatus.DONE)).items.map(::row)
    }

    /** One project for `householdCode`: its fields, ratings and whether this user may rate it now. */
    fun show(projectId: String, householdCode: String): ScreenState<ProjectScreen> =
        load { screen(store.projectDetail(projectId), householdCode) }

    /** A new, empty rating form for `householdCode`. */
    fun form(householdCode: String) = ProjectRatingForm(householdCode)

    /**
     * Records the household's rating; the screen shows the project after it. The core refuses a project not yet
     * done with `project_not_done`. Null while no rating is picked.
     */
    fun rate(projectId: String, form: ProjectRatingForm): ScreenState<ProjectScreen>? {
        val rating = form.toNewRating() ?: return null
        return load { screen(store.projectEvaluate(projectId, rating), form.householdCode) }
    }

    companion object {
        /** Shapes a project for one household (pure). */
        fun screen(d: ProjectDetail, householdCode: String) = ProjectScreen(
            detail = d,
            statusKey = Labels.key(d.status),
            householdCode = householdCode,
            householdRating = d.ratings.items.firstOrNull { it.householdCode == householdCode && it.state == RatingState.STANDS },
        )

        private fun row(p: ProjectListItem) = ProjectRow(
            projectId = p.projectId,
            title = p.title,
            category = p.category,
            organisation = p.organisation,
            statusKey = Labels.key(p.status),
            ratingCount = p.ratingCount,
            ratingAverage = p.ratingAverage,
            from = p.from,
            to = p.to,
        )
    }
}
