// The harness run: the field day on real stores and a real server, then every screen to PNG in zh-Hans and
// English, two phone sizes, font scale 1.0 and 1.3 (target/app-screenshots/ at the repository root).
package org.gridline.harness

import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.onAllNodesWithText
import java.io.File
import java.util.concurrent.TimeUnit
import javax.imageio.ImageIO
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.gridline.app.logic.Lang
import org.gridline.app.logic.Strings
import org.gridline.testkit.ServerFixture
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test

@OptIn(ExperimentalTestApi::class)
class AppScreenshotsTest {
    private val dir = File(System.getProperty("gridline.screenshots.dir") ?: "target/app-screenshots")

    @Test
    fun `Chinese text is set in Noto Sans CJK from fonts-noto-cjk`() {
        val p = ProcessBuilder("fc-match", "${DesktopPlatform.CJK_FAMILY}:lang=zh-cn").redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && out.contains(DesktopPlatform.CJK_FAMILY), "fontconfig has no Noto Sans CJK SC: $out")
    }

    @Test
    fun `every screen of the field day renders in both languages on both phones and both font scales`() {
        assumeTrue(ServerFixture.bin != null, "set GRIDLINE_SERVER_BIN to a built gridline-server")
        dir.deleteRecursively()
        val clipped = mutableListOf<String>()
        val files = FieldDay.run().use { day ->
            renderAll(day, dir) { screen, lang, phone ->
                // Untranslated text: no message code (a key the table lacks shows itself) on any screen.
                val shown = Layout.texts(this).flatMap { it.config[SemanticsProperties.Text].map { t -> t.text } }.toSet()
                val codes = Strings.keys.filter { it in shown }
                assertEquals(emptyList(), codes, "${screen.name} ($lang) shows message codes")
                clipped += Layout.clippedTexts(this).map { "${screen.name}-$lang-${phone.label}: $it" }
                // The field day's records reach the screens.
                val expected = when (screen.name) {
                    "rounds" -> "H-201"
                    "incidents" -> "5楼楼道堆放杂物"
                    "incident-detail" -> "李建国家门口楼道堆满纸箱"
                    "volunteer-orders", "volunteer-order" -> if (lang == Lang.ZH) "上门送餐" else "Meal delivery"
                    "survey-form" -> if (lang == Lang.ZH) "环境卫生" else "Environment and sanitation"
                    "survey-again" -> Strings(lang)["error_already_surveyed"]
                    "projects" -> "独居老人助餐服务"
                    "building-lead-rounds" -> Strings(lang).format("rounds_buildings", Strings(lang).format("building_name", "5"))
                    "project-rating" -> "饭菜可口，就是送得有点晚"
                    else -> null
                }
                if (expected != null && screen.name != "rounds") {
                    assertTrue(onAllNodesWithText(expected, substring = true).fetchSemanticsNodes().isNotEmpty(), "${screen.name} lacks $expected")
                }
            }
        }
        assertEquals(SCREENS.size * Lang.entries.size * Phone.ALL.size, files.size)
        for (file in files) {
            val image = ImageIO.read(file) ?: error("$file is not a PNG")
            val phone = Phone.ALL.single { file.name.endsWith(it.label + ".png") }
            assertEquals(phone.width to phone.height, image.width to image.height, file.name)
            val colours = (0 until image.height step 37).flatMap { y -> (0 until image.width step 23).map { x -> image.getRGB(x, y) } }.toSet()
            assertTrue(colours.size > 8, "${file.name} is blank")
        }
        println("screenshots: ${files.size} in $dir")
        clipped.forEach { println("clipped text: $it") }
    }
}
