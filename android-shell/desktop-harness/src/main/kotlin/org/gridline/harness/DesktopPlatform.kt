// The desktop stand-ins for the phone's platform parts: binding calls run inline (renders and UI tests see the
// store's answer on the next frame, nothing races them), the camera hands over a fixed photo, the location is a
// fixed fix, screen models live as long as their screen, and all text is set in Noto Sans CJK SC from Debian's
// fonts-noto-cjk (the family a Chinese phone would use; without it Chinese renders as boxes).
package org.gridline.harness

import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.text.ExperimentalTextApi
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.platform.SystemFont
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import org.gridline.app.ui.Platform
import org.gridline.core.Location
import org.gridline.testkit.Fixtures

@OptIn(ExperimentalTextApi::class)
object DesktopPlatform : Platform {
    /** The family fontconfig must resolve (the harness checks it does before it renders). */
    const val CJK_FAMILY = "Noto Sans CJK SC"

    /** Where the desktop camera's photo "was taken": the Bund, Shanghai. */
    val FIX = Location(31.2400, 121.4900, 8.0)

    override val io: CoroutineDispatcher = Dispatchers.Unconfined

    override val fontFamily: FontFamily = FontFamily(
        SystemFont(CJK_FAMILY, FontWeight.Normal),
        SystemFont(CJK_FAMILY, FontWeight.Medium),
        SystemFont(CJK_FAMILY, FontWeight.Bold),
    )

    @Composable
    override fun rememberCamera(onPhoto: (ByteArray) -> Unit): () -> Unit = { onPhoto(Fixtures.PNG) }

    @Composable
    override fun rememberLocation(onFix: (Location) -> Unit): () -> Unit = { onFix(FIX) }

    @Composable
    override fun <T : Any> rememberModel(key: String, create: (CoroutineScope) -> T): T {
        val scope = rememberCoroutineScope()
        return remember(key) { create(scope) }
    }
}
