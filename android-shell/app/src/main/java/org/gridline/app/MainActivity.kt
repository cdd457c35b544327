// The one activity: opens the store (or enrollment) and hosts the shared app with the Android platform, the
// device's language and the system back button.
package org.gridline.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.BackHandler
import androidx.activity.compose.setContent
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalConfiguration
import org.gridline.app.enroll.EnrollScreen
import org.gridline.app.logic.Home
import org.gridline.app.logic.Lang
import org.gridline.app.logic.Strings
import org.gridline.app.platform.AndroidPlatform
import org.gridline.app.ui.Destination
import org.gridline.app.ui.GridlineShell
import org.gridline.app.ui.GridlineTheme
import org.gridline.app.ui.LocalPlatform
import org.gridline.app.ui.LocalStrings
import org.gridline.app.ui.Navigator
import org.gridline.ffi.GridlineStore

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { Root(application as GridlineApp) }
    }
}

@Composable
private fun Root(app: GridlineApp) {
    val strings = Strings(Lang.of(LocalConfiguration.current.locales[0]))
    var store by remember { mutableStateOf<GridlineStore?>(null) }
    var opened by remember { mutableStateOf(false) }
    LaunchedEffect(app) { store = app.store.await(); opened = true }
    CompositionLocalProvider(LocalPlatform provides AndroidPlatform, LocalStrings provides strings) {
        val s = store
        when {
            !opened -> Text("…")
            s == null -> GridlineTheme { EnrollScreen(app) { store = it } }
            else -> {
                // By role (memory only): a volunteer's device opens on its orders.
                val navigator = remember(s) { Navigator(Destination.Root(Home.start(s.device().role))) }
                BackHandler(enabled = navigator.stack.size > 1) { navigator.back() }
                GridlineShell(s, strings, navigator)
            }
        }
    }
}
