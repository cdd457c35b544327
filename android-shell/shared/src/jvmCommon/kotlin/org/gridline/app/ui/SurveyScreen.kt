// The residents' satisfaction survey of one household (居民满意度测评): the community's ten items, each scored
// 1–5, recorded through the core, which refuses a second survey of the household in a year. Layout only: the
// form is SurveyPresenter's, the rules the core's.
package org.gridline.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.logic.Lang
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.SurveyForm
import org.gridline.app.logic.SurveyPresenter
import org.gridline.core.Survey
import org.gridline.ffi.GridlineStore

/** The survey screen's state: the form, and what became of the last submission. */
class SurveyModel(store: GridlineStore, private val householdCode: String, chinese: Boolean, scope: CoroutineScope, io: CoroutineDispatcher) :
    ScreenModel(scope, io) {
    private val presenter = SurveyPresenter(store, chinese)
    private val _form = MutableStateFlow<ScreenState<SurveyForm>>(ScreenState.Loading)
    val form: StateFlow<ScreenState<SurveyForm>> = _form
    private val _saved = MutableStateFlow<ScreenState<Survey>?>(null)
    val saved: StateFlow<ScreenState<Survey>?> = _saved

    fun open() = load(_form) { presenter.form(householdCode) }

    fun edit(change: (SurveyForm) -> SurveyForm) {
        (_form.value as? ScreenState.Loaded)?.let { _form.value = ScreenState.Loaded(change(it.content)) }
        _saved.value = null
    }

    fun submit() {
        val form = (_form.value as? ScreenState.Loaded)?.content ?: return
        scope.launch { _saved.value = withContext(io) { presenter.record(form) } }
    }
}

@Composable
fun SurveyRoute(store: GridlineStore, householdCode: String, modifier: Modifier, onSaved: () -> Unit) {
    val chinese = LocalStrings.current.lang == Lang.ZH
    val model = rememberModel("survey/$householdCode/$chinese") { scope, io -> SurveyModel(store, householdCode, chinese, scope, io) }
    LaunchedEffect(model) { model.open() }
    val state by model.form.collectAsState()
    val saved by model.saved.collectAsState()
    LaunchedEffect(saved) { if (saved is ScreenState.Loaded) onSaved() }
    StateView(state, model::open) { form -> SurveyFormView(form, saved, model::edit, model::submit, modifier) }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
fun SurveyFormView(
    form: SurveyForm,
    saved: ScreenState<Survey>?,
    edit: ((SurveyForm) -> SurveyForm) -> Unit,
    onSave: () -> Unit,
    modifier: Modifier = Modifier,
) {
    Column(modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(form.householdCode, style = MaterialTheme.typography.bodySmall)
        Text(str("survey_intro"), Modifier.padding(vertical = 4.dp))
        form.existing?.let { s ->
            Text(str("survey_done", time(s.at)), color = MaterialTheme.colorScheme.error)
            Text(str("survey_by", s.actor), style = MaterialTheme.typography.bodySmall)
        }
        form.items.forEachIndexed { index, item ->
            Heading(item.name)
            FlowRow(Modifier.selectableGroup(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                (1..5).forEach { score ->
                    // Read as "item: score", not a bare digit.
                    val said = str("survey_score", item.name, score)
                    FilterChip(
                        form.answers[index]?.toInt() == score,
                        { edit { it.withAnswer(index, score) } },
                        { Text("$score") },
                        MinTouchTarget.semantics { contentDescription = said },
                    )
                }
            }
        }
        Text(str("survey_answered", form.answered, form.items.size), Modifier.padding(top = 8.dp))
        Button(onClick = onSave, enabled = form.canSubmit, modifier = Modifier.padding(top = 8.dp).then(MinTouchTarget).fillMaxWidth()) {
            Text(str("survey_record"))
        }
        (saved as? ScreenState.Failed)?.let { ErrorText(it.error) }
    }
}
