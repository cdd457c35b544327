// Small pieces every screen uses: error text by code, loading and error states.
package org.gridline.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import org.gridline.app.R
import org.gridline.app.logic.ScreenError
import org.gridline.app.logic.ScreenState

/** A string resource by name (`error_<code>`, `contact_<code>`, `tag_<code>`), or the name itself. */
@Composable
fun textByKey(key: String): String {
    val context = LocalContext.current
    val id = context.resources.getIdentifier(key, "string", context.packageName)
    return if (id != 0) context.getString(id) else key
}

@Composable
fun ErrorText(error: ScreenError, onRetry: (() -> Unit)? = null) {
    Column(Modifier.padding(16.dp)) {
        Text(textByKey(error.messageKey), color = MaterialTheme.colorScheme.error)
        error.rosterLine?.takeIf { it > 0u }?.let {
            Text(stringResource(R.string.error_roster_line, it.toInt()), color = MaterialTheme.colorScheme.error)
        }
        if (onRetry != null) Button(onClick = onRetry) { Text(stringResource(R.string.retry)) }
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
