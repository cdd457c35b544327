// Today's rounds: the list the grid leader walks. Rows come shaped from RoundsPresenter.
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
import androidx.compose.foundation.lazy.itemsIndexed
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
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
import org.gridline.app.logic.RoundsPresenter
import org.gridline.app.logic.RoundsRow
import org.gridline.app.logic.RoundsScreen
import org.gridline.app.logic.ScreenState
import org.gridline.ffi.GridlineStore

/** The rounds screen's state. */
class RoundsModel(store: GridlineStore, scope: CoroutineScope, io: CoroutineDispatcher) : ScreenModel(scope, io) {
    private val presenter = RoundsPresenter(store)
    private val _state = MutableStateFlow<ScreenState<RoundsScreen>>(ScreenState.Loading)
    val state: StateFlow<ScreenState<RoundsScreen>> = _state

    fun refresh() = load(_state) { presenter.load() }
}

/** The rounds tab: loads the rounds each time it is shown (a check-in elsewhere changes them). */
@Composable
fun RoundsRoute(store: GridlineStore, modifier: Modifier, onHousehold: (String) -> Unit) {
    val model = rememberModel("rounds") { scope, io -> RoundsModel(store, scope, io) }
    LaunchedEffect(model) { model.refresh() }
    val state by model.state.collectAsState()
    StateView(state, model::refresh) { RoundsList(it, onHousehold, modifier) }
}

@Composable
fun RoundsList(screen: RoundsScreen, onHousehold: (String) -> Unit, modifier: Modifier = Modifier) {
    LazyColumn(modifier) {
        item {
            Heading(
                str("rounds_title", screen.date, screen.total, screen.overdue),
                modifier = Modifier.padding(horizontal = 16.dp),
            )
            // A building lead's rounds say whose they are: the buildings the lead looks after.
            if (screen.buildings.isNotEmpty()) {
                val strings = LocalStrings.current
                val names = screen.buildings.joinToString(strings["list_separator"]) { strings.format("building_name", it) }
                Text(str("rounds_buildings", names), Modifier.padding(horizontal = 16.dp))
            }
            if (screen.rows.isEmpty()) Text(str("rounds_empty"), Modifier.padding(16.dp))
        }
        itemsIndexed(screen.rows) { index, row ->
            if (index == screen.rotationStartsAt) {
                Heading(str("rounds_rotation_header"), modifier = Modifier.padding(horizontal = 16.dp))
            }
            RoundsRowView(row, onHousehold)
            HorizontalDivider()
        }
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun RoundsRowView(row: RoundsRow, onClick: (String) -> Unit) {
    Column(
        Modifier.fillMaxWidth().heightIn(min = 48.dp)
            .clickable(role = Role.Button) { onClick(row.householdCode) }
            .padding(16.dp, 8.dp),
    ) {
        Text(str("address_format", row.building, row.unit, row.floor, row.room), style = MaterialTheme.typography.titleSmall)
        FlowRow(horizontalArrangement = Arrangement.spacedBy(4.dp)) {
            row.chips.forEach { chip ->
                val label = str(chip.contactKey) + (chip.tagKey?.let { " · " + str(it) } ?: "")
                // A label, not a button: the whole row opens the household.
                TagLabel(label)
            }
        }
        if (row.overdueDays > 0u) {
            Text(str("overdue_days", row.overdueDays.toInt()), color = MaterialTheme.colorScheme.error)
        }
        Text(row.lastContact?.let { str("last_contact", it) } ?: str("never_contacted"))
    }
}
