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
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import org.gridline.app.GridlineApp
import org.gridline.app.logic.Home
import org.gridline.app.logic.Tab
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
    // By role (memory only): a volunteer's device has no rounds, incidents or visits and opens on its orders.
    val tabs = remember(store) { Home.tabs(store.device().role) }
    Scaffold(bottomBar = {
        NavigationBar {
            tabs.forEach { tab ->
                NavigationBarItem(selected = false, onClick = { nav.navigate(tab.route) }, icon = {}, label = { Text(textByKey(tab.labelKey)) })
            }
        }
    }) { padding ->
        NavHost(nav, startDestination = tabs.first().route, modifier = Modifier.padding(padding)) {
            composable(Tab.ROUNDS.route) {
                RoundsScreen(viewModel { RoundsViewModel(store) }) { nav.navigate("household/$it") }
            }
            composable("household/{code}") { entry ->
                val code = entry.arguments?.getString("code").orEmpty()
                HouseholdScreen(
                    viewModel { HouseholdViewModel(store, code) },
                    onStartIncident = { nav.navigate("incident/new?household=$it") },
                    onOrderService = { nav.navigate("order/new/$it") },
                )
            }
            composable(Tab.INCIDENTS.route) {
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
            composable(Tab.VISITS.route) { VisitsScreen(viewModel { VisitsViewModel(store) }) }
            composable(Tab.ORDERS.route) {
                OrderListScreen(viewModel { OrdersViewModel(store, mine = false) }) { nav.navigate("order/$it") }
            }
            composable(Tab.MY_ORDERS.route) {
                OrderListScreen(viewModel { OrdersViewModel(store, mine = true) }) { nav.navigate("order/$it") }
            }
            composable("order/new/{household}") { entry ->
                val household = entry.arguments?.getString("household").orEmpty()
                OrderRequestScreen(viewModel { OrdersViewModel(store, mine = false) }, household) {
                    // The saved request replaces its form: back from the order returns to the household.
                    nav.popBackStack()
                    nav.navigate("order/$it")
                }
            }
            composable("order/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                OrderDetailScreen(viewModel { OrdersViewModel(store, mine = false) }, id)
            }
            composable(Tab.SYNC.route) { SyncScreen(viewModel { SyncViewModel(app, store) }) }
        }
    }
}
