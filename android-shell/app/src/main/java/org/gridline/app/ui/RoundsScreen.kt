// Today's rounds: the list the grid leader walks. Rows come shaped from RoundsPresenter.
package org.gridline.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.itemsIndexed
import androidx.compose.material3.AssistChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import org.gridline.app.R
import org.gridline.app.logic.RoundsRow

@Composable
fun RoundsScreen(vm: RoundsViewModel, onHousehold: (String) -> Unit) {
    val state by vm.state.collectAsState()
    StateView(state, vm::refresh) { screen ->
        Column {
            Text(
                stringResource(R.string.rounds_title, screen.date, screen.total, screen.overdue),
                style = MaterialTheme.typography.titleMedium,
                modifier = Modifier.padding(16.dp),
            )
            if (screen.rows.isEmpty()) Text(stringResource(R.string.rounds_empty), Modifier.padding(16.dp))
            LazyColumn {
                itemsIndexed(screen.rows) { index, row ->
                    if (index == screen.rotationStartsAt) {
                        Text(stringResource(R.string.rounds_rotation_header), Modifier.padding(16.dp, 8.dp))
                    }
                    RoundsRowView(row, onHousehold)
                }
            }
        }
    }
}

@Composable
private fun RoundsRowView(row: RoundsRow, onClick: (String) -> Unit) {
    Column(Modifier.clickable { onClick(row.householdCode) }.padding(16.dp, 8.dp)) {
        Text(stringResource(R.string.address_format, row.building, row.unit, row.floor, row.room))
        Row {
            row.chips.forEach { chip ->
                val label = textByKey(chip.contactKey) + (chip.tagKey?.let { " · " + textByKey(it) } ?: "")
                AssistChip(onClick = {}, label = { Text(label) }, modifier = Modifier.padding(end = 4.dp))
            }
        }
        if (row.overdueDays > 0u) Text(stringResource(R.string.overdue_days, row.overdueDays.toInt()))
        Text(row.lastContact?.let { stringResource(R.string.last_contact, it) } ?: stringResource(R.string.never_contacted))
    }
}
