// What every screen uses: the platform hooks (camera, location, I/O dispatcher, model lifetime), the strings of
// the current language, screen models, error and loading states, icons that always carry a description.
package org.gridline.app.ui

import androidx.compose.foundation.BorderStroke
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.sizeIn
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Icon
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.ProvidableCompositionLocal
import androidx.compose.runtime.staticCompositionLocalOf
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.TextStyle
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.logic.Lang
import org.gridline.app.logic.ScreenError
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.Strings
import org.gridline.app.logic.shownTime
import org.gridline.core.Location

/**
 * What the screens need from the platform they run on. The Android app implements it with the camera, the
 * fused location provider and view-models; the desktop build with stand-ins (a fixed photo, a fixed fix).
 */
interface Platform {
    /** Where binding calls run (they do disk I/O): `Dispatchers.IO` on a phone. */
    val io: CoroutineDispatcher

    /** The font family of every text style, or null: the platform's default (on a phone, its CJK fonts). */
    val fontFamily: FontFamily? get() = null

    /** A launcher that takes one photo and hands over its bytes (the only copy then lives in the encrypted store). */
    @Composable
    fun rememberCamera(onPhoto: (ByteArray) -> Unit): () -> Unit

    /** A launcher that asks for the current location (and the permission first, where there is one). */
    @Composable
    fun rememberLocation(onFix: (Location) -> Unit): () -> Unit

    /** A screen model kept while its screen is open (on Android also across configuration changes). */
    @Composable
    fun <T : Any> rememberModel(key: String, create: (CoroutineScope) -> T): T
}

/** The platform of the running app. */
val LocalPlatform: ProvidableCompositionLocal<Platform> = staticCompositionLocalOf { error("no Platform provided") }

/** The strings of the device's language. */
val LocalStrings: ProvidableCompositionLocal<Strings> = staticCompositionLocalOf { Strings(Lang.ZH) }

/** The community's time zone (IANA name), in which times are shown. */
val LocalZone: ProvidableCompositionLocal<String> = staticCompositionLocalOf { "Asia/Shanghai" }

/** An RFC 3339 time on the community's clock, to the minute. */
@Composable
fun time(rfc3339: String): String = shownTime(rfc3339, LocalZone.current)

/** The message `key` in the current language (`error_<code>`, `contact_<code>`, `tag_<code>` …). */
@Composable
fun str(key: String): String = LocalStrings.current[key]

/** The message `key` with arguments. */
@Composable
fun str(key: String, vararg args: Any): String = LocalStrings.current.format(key, *args)

/** A screen model created once per screen over the platform's scope and I/O dispatcher. */
@Composable
fun <T : Any> rememberModel(key: String, create: (CoroutineScope, CoroutineDispatcher) -> T): T {
    val platform = LocalPlatform.current
    return platform.rememberModel(key) { scope -> create(scope, platform.io) }
}

/** A screen's state holder: runs presenter calls on the I/O dispatcher and publishes what they return. */
abstract class ScreenModel(protected val scope: CoroutineScope, protected val io: CoroutineDispatcher) {
    /** Runs `block` on the I/O dispatcher and publishes its result into `into`. */
    protected fun <T> load(into: MutableStateFlow<T>, block: () -> T) {
        scope.launch { into.value = withContext(io) { block() } }
    }
}

/** An icon that always says what it is: a screen reader reads [description] (a null one is not allowed here). */
@Composable
fun AppIcon(icon: ImageVector, description: String, modifier: Modifier = Modifier) {
    Icon(icon, contentDescription = description, modifier = modifier)
}

/**
 * The least a control takes up: 48 dp each way, so that a finger hits it. Material draws buttons 40 dp and chips
 * 32 dp high and counts on an invisible margin; the desktop build has none, so every control asks for 48 dp itself.
 */
val MinTouchTarget: Modifier = Modifier.sizeIn(minWidth = 48.dp, minHeight = 48.dp)

/** A section heading: screen readers can jump between headings. */
@Composable
fun Heading(text: String, style: TextStyle = MaterialTheme.typography.titleMedium, modifier: Modifier = Modifier) {
    Text(text, style = style, modifier = modifier.padding(top = 12.dp, bottom = 4.dp).semantics { heading() })
}

/** A small outlined label (why a household is due, a stage): read as text, not a button. */
@Composable
fun TagLabel(text: String) {
    Surface(
        shape = MaterialTheme.shapes.small,
        border = BorderStroke(1.dp, MaterialTheme.colorScheme.outline),
        modifier = Modifier.padding(vertical = 2.dp),
    ) {
        Text(text, style = MaterialTheme.typography.labelLarge, modifier = Modifier.padding(horizontal = 8.dp, vertical = 4.dp))
    }
}

@Composable
fun ErrorText(error: ScreenError, onRetry: (() -> Unit)? = null) {
    Column(Modifier.padding(16.dp)) {
        Text(str(error.messageKey), color = MaterialTheme.colorScheme.error)
        error.rosterLine?.takeIf { it > 0u }?.let {
            Text(str("error_roster_line", it.toInt()), color = MaterialTheme.colorScheme.error)
        }
        if (onRetry != null) Button(onClick = onRetry, modifier = MinTouchTarget) { Text(str("retry")) }
    }
}

/** Renders a [ScreenState]: spinner, error, or the content. */
@Composable
fun <T> StateView(state: ScreenState<T>, onRetry: () -> Unit, content: @Composable (T) -> Unit) {
    when (state) {
        is ScreenState.Loading -> CircularProgressIndicator(Modifier.padding(24.dp))
        is ScreenState.Failed -> ErrorText(state.error, onRetry)
        is ScreenState.Loaded -> content(state.content)
    }
}
