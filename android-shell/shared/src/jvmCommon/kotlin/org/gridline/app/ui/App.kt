// The app's frame: where the user is (a back stack of destinations), the top bar with the way back, the bottom
// tabs by role, and which screen each destination shows. Shared by the Android activity and the desktop build.
package org.gridline.app.ui

import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.automirrored.filled.List
import androidx.compose.material.icons.filled.Person
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material.icons.filled.ShoppingCart
import androidx.compose.material.icons.filled.Warning
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.IconButton
import androidx.compose.material3.LocalMinimumInteractiveComponentSize
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.getValue
import androidx.compose.runtime.key
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.semantics.isTraversalGroup
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.semantics.traversalIndex
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import org.gridline.app.logic.Home
import org.gridline.app.logic.Strings
import org.gridline.app.logic.Tab
import org.gridline.ffi.GridlineStore

/** A place in the app. [titleKey] is the message shown in the top bar. */
sealed interface Destination {
    val titleKey: String

    /** The first screen of a bottom tab. */
    data class Root(val tab: Tab) : Destination {
        override val titleKey get() = tab.labelKey
    }

    data class Household(val code: String) : Destination {
        override val titleKey get() = "household_title"
    }

    /** The check-in form for a household. */
    data class CheckIn(val household: String) : Destination {
        override val titleKey get() = "checkin_title"
    }

    /** Incident capture, prefilled from a household and the check-in that found the problem. */
    data class ReportIncident(val household: String?, val checkInId: String?) : Destination {
        override val titleKey get() = "incident_report"
    }

    data class Incident(val id: String) : Destination {
        override val titleKey get() = "incident_title_screen"
    }

    /** The visit record form for a household (and the resident the visit is due for). */
    data class VisitForm(val household: String, val resident: String?) : Destination {
        override val titleKey get() = "visit_record"
    }

    /** "Order a service for this household" (为该户点单). */
    data class RequestOrder(val household: String) : Destination {
        override val titleKey get() = "order_request_title"
    }

    data class Order(val id: String) : Destination {
        override val titleKey get() = "order_title"
    }

    /** The residents' satisfaction survey of a household (居民满意度测评). */
    data class Survey(val household: String) : Destination {
        override val titleKey get() = "survey_title"
    }

    /** The done projects a household may rate (民事民评). */
    data class Projects(val household: String) : Destination {
        override val titleKey get() = "projects_title"
    }

    /** One project and a household's rating of it. */
    data class ProjectRating(val projectId: String, val household: String) : Destination {
        override val titleKey get() = "project_title_screen"
    }
}

/** The back stack. The first entry is a tab's root; [back] never empties it. */
class Navigator(start: Destination) {
    var stack: List<Destination> by mutableStateOf(listOf(start))
        private set

    val current: Destination get() = stack.last()

    fun go(to: Destination) { stack = stack + to }

    /** Replaces the current screen (a saved form gives way to what it created). */
    fun replace(with: Destination) { stack = stack.dropLast(1) + with }

    /** Opens a tab from its root. */
    fun tab(tab: Tab) { stack = listOf(Destination.Root(tab)) }

    /** One step back; false when already at a tab's root (the platform then leaves the app). */
    fun back(): Boolean {
        if (stack.size <= 1) return false
        stack = stack.dropLast(1)
        return true
    }
}

/** The icon of a bottom tab (its description is the tab's label). */
private fun Tab.icon(): ImageVector = when (this) {
    Tab.ROUNDS -> Icons.AutoMirrored.Filled.List
    Tab.INCIDENTS -> Icons.Filled.Warning
    Tab.VISITS -> Icons.Filled.Person
    Tab.ORDERS, Tab.MY_ORDERS -> Icons.Filled.ShoppingCart
    Tab.SYNC -> Icons.Filled.Refresh
}

/** Colours and type: Material 3 defaults, in the platform's font family when it names one. */
@Composable
fun GridlineTheme(content: @Composable () -> Unit) {
    val family = LocalPlatform.current.fontFamily
    val type = MaterialTheme.typography
    val typography = if (family == null) type else type.copy(
        displayLarge = type.displayLarge.copy(fontFamily = family),
        displayMedium = type.displayMedium.copy(fontFamily = family),
        displaySmall = type.displaySmall.copy(fontFamily = family),
        headlineLarge = type.headlineLarge.copy(fontFamily = family),
        headlineMedium = type.headlineMedium.copy(fontFamily = family),
        headlineSmall = type.headlineSmall.copy(fontFamily = family),
        titleLarge = type.titleLarge.copy(fontFamily = family),
        titleMedium = type.titleMedium.copy(fontFamily = family),
        titleSmall = type.titleSmall.copy(fontFamily = family),
        bodyLarge = type.bodyLarge.copy(fontFamily = family),
        bodyMedium = type.bodyMedium.copy(fontFamily = family),
        bodySmall = type.bodySmall.copy(fontFamily = family),
        labelLarge = type.labelLarge.copy(fontFamily = family),
        labelMedium = type.labelMedium.copy(fontFamily = family),
        labelSmall = type.labelSmall.copy(fontFamily = family),
    )
    MaterialTheme(colorScheme = lightColorScheme(), typography = typography) {
        // 48 dp touch targets everywhere, as on a phone (Compose's desktop default for a mouse is smaller).
        CompositionLocalProvider(LocalMinimumInteractiveComponentSize provides 48.dp, content = content)
    }
}

/** The whole app over an opened store: tabs by the device's role, the screens, the way back. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun GridlineShell(store: GridlineStore, strings: Strings, navigator: Navigator) {
    // By role (memory only): a volunteer's device has no rounds, incidents or visits and opens on its orders.
    val tabs = remember(store) { Home.tabs(store.device().role) }
    // Sync is an action in the top bar, not a bottom tab: with five tabs the labels did not fit a small phone at
    // a large font (seen in the desktop screenshots), and a tab bar of one tab (a volunteer's) is no choice.
    val (topBarTabs, bottomTabs) = tabs.partition { it == Tab.SYNC }
    val zone = remember(store) { store.settings().timezone }
    CompositionLocalProvider(LocalStrings provides strings, LocalZone provides zone) {
        GridlineTheme {
            val current = navigator.current
            Scaffold(
                topBar = {
                    // Read first: where one is and the way back.
                    TopAppBar(
                        modifier = Modifier.semantics { isTraversalGroup = true; traversalIndex = -1f },
                        title = { Text(str(current.titleKey), maxLines = 1, overflow = TextOverflow.Ellipsis) },
                        navigationIcon = {
                            if (navigator.stack.size > 1) {
                                IconButton(onClick = { navigator.back() }, modifier = MinTouchTarget) { AppIcon(Icons.AutoMirrored.Filled.ArrowBack, str("back")) }
                            }
                        },
                        actions = {
                            topBarTabs.forEach { tab ->
                                IconButton(onClick = { navigator.tab(tab) }, modifier = MinTouchTarget) { AppIcon(tab.icon(), str(tab.labelKey)) }
                            }
                        },
                    )
                },
                bottomBar = {
                    // Read after the screen's content: the tabs are where one goes next, not what one reads first.
                    if (bottomTabs.size > 1) NavigationBar(Modifier.semantics { isTraversalGroup = true; traversalIndex = 1f }) {
                        val root = (navigator.stack.first() as? Destination.Root)?.tab
                        bottomTabs.forEach { tab ->
                            NavigationBarItem(
                                selected = root == tab,
                                onClick = { navigator.tab(tab) },
                                icon = { AppIcon(tab.icon(), str(tab.labelKey)) },
                                label = { Text(str(tab.labelKey), maxLines = 1, overflow = TextOverflow.Ellipsis) },
                            )
                        }
                    }
                },
            ) { padding ->
                // One composition per destination: a screen's remembered state is its own.
                key(current) {
                    Screen(store, navigator, current, Modifier.padding(padding))
                }
            }
        }
    }
}

@Composable
private fun Screen(store: GridlineStore, nav: Navigator, at: Destination, modifier: Modifier) {
    when (at) {
        is Destination.Root -> when (at.tab) {
            Tab.ROUNDS -> RoundsRoute(store, modifier) { nav.go(Destination.Household(it)) }
            Tab.INCIDENTS -> IncidentListRoute(store, modifier, { nav.go(Destination.Incident(it)) }) {
                nav.go(Destination.ReportIncident(null, null))
            }
            Tab.VISITS -> VisitsRoute(store, modifier) { household, resident -> nav.go(Destination.VisitForm(household, resident)) }
            Tab.ORDERS -> OrderListRoute(store, mine = false, modifier) { nav.go(Destination.Order(it)) }
            Tab.MY_ORDERS -> OrderListRoute(store, mine = true, modifier) { nav.go(Destination.Order(it)) }
            Tab.SYNC -> SyncRoute(store, modifier)
        }
        is Destination.Household -> HouseholdRoute(
            store, at.code, modifier,
            onCheckIn = { nav.go(Destination.CheckIn(at.code)) },
            onOrderService = { nav.go(Destination.RequestOrder(at.code)) },
            onSurvey = { nav.go(Destination.Survey(at.code)) },
            onRateProject = { nav.go(Destination.Projects(at.code)) },
        )
        is Destination.CheckIn -> CheckInRoute(store, at.household, modifier) { saved ->
            // A problem found leads on to incident capture, prefilled from the household and this check-in.
            if (saved.startIncident) nav.replace(Destination.ReportIncident(at.household, saved.checkInId)) else nav.back()
        }
        is Destination.ReportIncident -> IncidentCaptureRoute(store, at.household, at.checkInId, modifier) {
            nav.replace(Destination.Incident(it))
        }
        is Destination.Incident -> IncidentDetailRoute(store, at.id, modifier)
        is Destination.VisitForm -> VisitFormRoute(store, at.household, at.resident, modifier) { nav.back() }
        is Destination.RequestOrder -> OrderRequestRoute(store, at.household, modifier) { nav.replace(Destination.Order(it)) }
        is Destination.Order -> OrderDetailRoute(store, at.id, modifier)
        is Destination.Survey -> SurveyRoute(store, at.household, modifier) { nav.back() }
        is Destination.Projects -> ProjectListRoute(store, at.household, modifier) { nav.go(Destination.ProjectRating(it, at.household)) }
        is Destination.ProjectRating -> ProjectRatingRoute(store, at.projectId, at.household, modifier)
    }
}
