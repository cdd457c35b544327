// Residents rate service projects (民事民评), from a household's screen: the done projects, then one project
// with its ratings and the household's rating (1–5 and the resident's words). Layout only: the shaping is
// ProjectsPresenter's, the rules (done, who may rate, which rating stands, the average) the core's.
package org.gridline.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.logic.Labels
import org.gridline.app.logic.ProjectRatingForm
import org.gridline.app.logic.ProjectRow
import org.gridline.app.logic.ProjectScreen
import org.gridline.app.logic.ProjectsPresenter
import org.gridline.app.logic.ScreenError
import org.gridline.app.logic.ScreenState
import org.gridline.core.ProjectStatus
import org.gridline.ffi.GridlineStore

/** The project screens' state for one household. */
class ProjectsModel(store: GridlineStore, private val householdCode: String, scope: CoroutineScope, io: CoroutineDispatcher) :
    ScreenModel(scope, io) {
    private val presenter = ProjectsPresenter(store)
    private val _list = MutableStateFlow<ScreenState<List<ProjectRow>>>(ScreenState.Loading)
    val list: StateFlow<ScreenState<List<ProjectRow>>> = _list
    private val _project = MutableStateFlow<ScreenState<ProjectScreen>>(ScreenState.Loading)
    val project: StateFlow<ScreenState<ProjectScreen>> = _project
    private val _form = MutableStateFlow(presenter.form(householdCode))
    val form: StateFlow<ProjectRatingForm> = _form
    /** Why the rating just tried was refused (the project stays on screen). */
    private val _error = MutableStateFlow<ScreenError?>(null)
    val error: StateFlow<ScreenError?> = _error

    fun refresh() = load(_list) { presenter.done() }
    fun open(projectId: String) = load(_project) { presenter.show(projectId, householdCode) }
    fun edit(change: (ProjectRatingForm) -> ProjectRatingForm) { _form.value = change(_form.value); _error.value = null }

    fun rate(projectId: String) {
        val form = _form.value
        scope.launch {
            when (val after = withContext(io) { presenter.rate(projectId, form) }) {
                is ScreenState.Loaded -> { _project.value = after; _form.value = presenter.form(householdCode) }
                is ScreenState.Failed -> _error.value = after.error
                else -> {}
            }
        }
    }
}

/** The done projects a household may rate. */
@Composable
fun ProjectListRoute(store: GridlineStore, householdCode: String, modifier: Modifier, onOpen: (String) -> Unit) {
    val model = rememberModel("projects/$householdCode") { scope, io -> ProjectsModel(store, householdCode, scope, io) }
    LaunchedEffect(model) { model.refresh() }
    val state by model.list.collectAsState()
    StateView(state, model::refresh) { ProjectList(householdCode, it, onOpen, modifier) }
}

@Composable
fun ProjectList(householdCode: String, rows: List<ProjectRow>, onOpen: (String) -> Unit, modifier: Modifier = Modifier) {
    LazyColumn(modifier) {
        item {
            Heading(str("projects_for_household", householdCode), modifier = Modifier.padding(horizontal = 16.dp))
            if (rows.isEmpty()) Text(str("projects_empty"), Modifier.padding(16.dp))
        }
        items(rows) { row ->
            Column(
                Modifier.fillMaxWidth().heightIn(min = 48.dp)
                    .clickable(role = Role.Button) { onOpen(row.projectId) }.padding(16.dp, 8.dp),
            ) {
                Text(row.title, style = MaterialTheme.typography.titleSmall)
                TagLabel(str(row.statusKey))
                Text(str("project_organisation", row.organisation))
                Text(str("project_category", row.category))
                if (row.from != null && row.to != null) Text(str("project_period", row.from, row.to))
                Text(ratings(row.ratingCount, row.ratingAverage))
            }
            HorizontalDivider()
        }
    }
}

@Composable
private fun ratings(count: UInt, average: Double?): String =
    if (count == 0u || average == null) str("project_ratings_none") else str("project_ratings", count.toInt(), String.format(java.util.Locale.ROOT, "%.2f", average))

/** One project, its residents' ratings, and the household's rating form when the core allows one now. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun ProjectRatingRoute(store: GridlineStore, projectId: String, householdCode: String, modifier: Modifier) {
    val model = rememberModel("project/$projectId/$householdCode") { scope, io -> ProjectsModel(store, householdCode, scope, io) }
    LaunchedEffect(model) { model.open(projectId) }
    val state by model.project.collectAsState()
    val form by model.form.collectAsState()
    val error by model.error.collectAsState()
    StateView(state, { model.open(projectId) }) { p ->
        val d = p.detail
        Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
            Text(d.title, style = MaterialTheme.typography.titleLarge)
            TagLabel(str(p.statusKey))
            Text(str("project_organisation", d.organisation))
            Text(str("project_category", d.category))
            val from = d.from
            val to = d.to
            if (from != null && to != null) Text(str("project_period", from, to))
            Text(ratings(d.ratings.count, d.ratings.average), Modifier.padding(top = 4.dp))
            Heading(str("project_rate_household", p.householdCode))
            p.householdRating?.let { r ->
                Text(str("project_household_rated", r.rating.toInt(), time(r.at)))
                if (r.note.isNotEmpty()) Text(r.note, style = MaterialTheme.typography.bodySmall)
            }
            if (p.mayRate) {
                if (p.householdRating != null) Text(str("project_rate_replaces"), style = MaterialTheme.typography.bodySmall)
                FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    (1..5).forEach { stars ->
                        FilterChip(form.rating?.toInt() == stars, { model.edit { it.withRating(stars) } }, { Text(str("order_stars", stars)) }, MinTouchTarget)
                    }
                }
                OutlinedTextField(
                    form.note, { n -> model.edit { it.withNote(n) } },
                    label = { Text(str("project_note")) }, minLines = 2, modifier = Modifier.fillMaxWidth(),
                )
                Button(onClick = { model.rate(projectId) }, enabled = form.canSubmit, modifier = Modifier.padding(top = 8.dp).then(MinTouchTarget).fillMaxWidth()) {
                    Text(str("project_rate"))
                }
            } else {
                // Why there is no form: the core's refusal for a project not done, or this role.
                Text(str(if (d.status != ProjectStatus.DONE) "error_project_not_done" else "project_cannot_rate"), color = MaterialTheme.colorScheme.error)
            }
            error?.let { ErrorText(it) }
            val others = d.ratings.items
            if (others.isNotEmpty()) {
                Heading(str("project_rating_list"))
                others.forEach { r ->
                    val line = "${time(r.at)} ${r.householdCode} · ${str("order_stars", r.rating.toInt())} · ${str(Labels.key(r.state))}" +
                        if (r.note.isEmpty()) "" else "\n${r.note}"
                    Text(line, Modifier.padding(vertical = 4.dp))
                }
            }
        }
    }
}
