// The navigation graph and bottom tabs. View-models are created per destination over the one opened store.
package org.gridline.app.ui

import androidx.compose.foundation.layout.padding
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import org.gridline.app.GridlineApp
import org.gridline.app.R
import org.gridline.ffi.GridlineStore

@Composable
fun GridlineNavHost(app: GridlineApp) {
    var store by remember { mutableStateOf<GridlineStore?>(null) }
    var opened by remember { mutableStateOf(false) }
    LaunchedEffect(app) { store = app.store.await(); opened = true }
    val s = store
    when {
        !opened -> Text("…")
        s == null -> EnrollScreen(app) { store = it }
        else -> Tabs(app, s)
    }
}

@Composable
private fun Tabs(app: GridlineApp, store: GridlineStore) {
    val nav = rememberNavController()
    val tabs = listOf("rounds" to R.string.tab_rounds, "incidents" to R.string.tab_incidents, "visits" to R.string.tab_visits, "sync" to R.string.tab_sync)
    Scaffold(bottomBar = {
        NavigationBar {
            tabs.forEach { (route, label) ->
                NavigationBarItem(selected = false, onClick = { nav.navigate(route) }, icon = {}, label = { Text(stringResource(label)) })
            }
        }
    }) { padding ->
        NavHost(nav, startDestination = "rounds", modifier = Modifier.padding(padding)) {
            composable("rounds") {
                RoundsScreen(viewModel { RoundsViewModel(store) }) { nav.navigate("household/$it") }
            }
            composable("household/{code}") { entry ->
                val code = entry.arguments?.getString("code").orEmpty()
                HouseholdScreen(viewModel { HouseholdViewModel(store, code) }) { nav.navigate("incident/new?household=$it") }
            }
            composable("incidents") {
                val vm = viewModel { IncidentViewModel(store) }
                LaunchedEffect(Unit) { vm.refresh() }
                IncidentListScreen(vm, { nav.navigate("incident/$it") }, { nav.navigate("incident/new") })
            }
            composable("incident/new?household={household}") { entry ->
                IncidentCaptureScreen(viewModel { IncidentViewModel(store) }, store, entry.arguments?.getString("household")) {
                    nav.navigate("incident/$it")
                }
            }
            composable("incident/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                val vm = viewModel { IncidentViewModel(store) }
                LaunchedEffect(id) { vm.open(id) }
                IncidentDetailScreen(vm, id)
            }
            composable("visits") { VisitsScreen(viewModel { VisitsViewModel(store) }) }
            composable("sync") { SyncScreen(viewModel { SyncViewModel(app, store) }) }
        }
    }
}
