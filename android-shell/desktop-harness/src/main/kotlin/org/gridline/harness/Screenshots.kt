// Every screen the issue lists, rendered offscreen over the field day's stores in each language, phone size and
// font scale, to PNG. Rendering is Compose's test scene on Skia's CPU raster: no window, no display, no GPU.
package org.gridline.harness

import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.getValue
import androidx.compose.runtime.key
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.graphics.asSkiaBitmap
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.test.hasClickAction
import androidx.compose.ui.test.hasSetTextAction
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.onRoot
import androidx.compose.ui.test.performMouseInput
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performTextInput
import androidx.compose.ui.unit.Density
import java.io.File
import kotlin.coroutines.EmptyCoroutineContext
import org.gridline.app.logic.Lang
import org.gridline.app.logic.Strings
import org.gridline.app.logic.Tab
import org.gridline.app.ui.Destination
import org.gridline.app.ui.GridlineShell
import org.gridline.app.ui.LocalPlatform
import org.gridline.app.ui.Navigator
import org.gridline.ffi.GridlineStore
import org.jetbrains.skia.EncodedImageFormat
import org.jetbrains.skia.Image

/** A phone: its size in pixels, its density, the user's font scale. */
data class Phone(val width: Int, val height: Int, val density: Float, val fontScale: Float) {
    val label: String get() = "${width}x$height-fs$fontScale"

    companion object {
        /** A current phone (1080×2340 at 3×) and a small one (720×1280 at 2×), at font scale 1.0 and 1.3. */
        val ALL = listOf(1.0f, 1.3f).flatMap { fs -> listOf(Phone(1080, 2340, 3f, fs), Phone(720, 1280, 2f, fs)) }
    }
}

/** One screen: whose phone, where in the app, and what the user has typed or picked before the picture. */
@OptIn(ExperimentalTestApi::class)
class AppScreen(
    val name: String,
    val store: (FieldDay) -> GridlineStore,
    val at: (FieldDay) -> Destination,
    val prepare: SkikoComposeUiTest.(Strings) -> Unit = {},
)

/** The screens of the issue, in the order a field day meets them. */
@OptIn(ExperimentalTestApi::class)
val SCREENS: List<AppScreen> = listOf(
    AppScreen("rounds", { it.leader }, { Destination.Root(Tab.ROUNDS) }),
    AppScreen("household", { it.leader }, { Destination.Household("H-502") }),
    AppScreen("checkin-form", { it.leader }, { Destination.CheckIn("H-301") }) { s ->
        onNodeWithText(s["kind_door"]).performClick()
        onNodeWithText(s["outcome_problem"]).performClick()
        onAllNodes(hasSetTextAction())[0].performTextInput("老人说最近血压偏高，药快吃完了")
        onNodeWithText(s.format("take_photo_count", 0)).performClick()
    },
    AppScreen("incident-report", { it.leader }, { Destination.ReportIncident("H-301", null) }) { s ->
        onNodeWithText(s["severity_urgent"]).performClick()
        onAllNodes(hasSetTextAction())[0].performTextInput("独居老人药品将尽")
        onAllNodes(hasSetTextAction())[1].performTextInput("陈桂兰降压药只剩两天的量，需联系家庭医生上门开药。")
    },
    AppScreen("incident-detail", { it.committee }, { Destination.Incident(it.incidentId) }),
    AppScreen("incidents", { it.leader }, { Destination.Root(Tab.INCIDENTS) }),
    AppScreen("visits-due", { it.leader }, { Destination.Root(Tab.VISITS) }),
    AppScreen("visit-form", { it.leader }, { Destination.VisitForm("H-201", "王秀英") }) { s ->
        onNodeWithText(if (s.lang == Lang.ZH) "生活照料" else "Life care").performClick()
        onNodeWithText(if (s.lang == Lang.ZH) "健康监护" else "Health monitoring").performClick()
        onAllNodes(hasSetTextAction())[0].performTextInput("需要每周两次上门送餐")
    },
    AppScreen("sync", { it.leader }, { Destination.Root(Tab.SYNC) }),
    AppScreen("volunteer-orders", { it.volunteer }, { Destination.Root(Tab.MY_ORDERS) }),
    AppScreen("volunteer-order", { it.volunteer }, { Destination.Order(it.orderId) }),
    AppScreen("service-request", { it.leader }, { Destination.RequestOrder("H-201") }) { s ->
        onNodeWithText(if (s.lang == Lang.ZH) "代购配送" else "Shopping and errands").performClick()
        onAllNodes(hasSetTextAction())[0].performTextInput("每周买一次米和菜")
    },
    AppScreen("survey-form", { it.leader }, { Destination.Survey("H-201") }) { s ->
        // The first items answered, as a worker part-way through the survey at the door.
        val names = if (s.lang == Lang.ZH) listOf("环境卫生", "治安秩序", "办事效率") else listOf("Environment and sanitation", "Public safety and order", "Efficiency of services")
        names.zip(listOf(5, 4, 4)).forEach { (name, score) -> onNodeWithContentDescription(s.format("survey_score", name, score)).performClick() }
    },
    AppScreen("survey-again", { it.leader }, { Destination.Survey("H-101") }) { s ->
        // A second survey of the household this year: every item answered, the core refuses it.
        val fours = onAllNodes(hasText("4") and hasClickAction())
        repeat(fours.fetchSemanticsNodes().size) { i -> fours[i].performScrollTo().performClick() }
        onNodeWithText(s["survey_record"]).performScrollTo().performClick()
        waitForIdle()
        onNodeWithText(s["error_already_surveyed"]).performScrollTo()
    },
    AppScreen("projects", { it.leader }, { Destination.Projects("H-201") }),
    AppScreen("building-lead-rounds", { it.buildingLead }, { Destination.Root(Tab.ROUNDS) }),
    AppScreen("project-rating", { it.leader }, { Destination.ProjectRating(it.projectId, "H-201") }) { s ->
        onNodeWithText(s.format("order_stars", 5)).performClick()
        onAllNodes(hasSetTextAction())[0].performTextInput("老人说每天按时送到，很满意")
    },
)

/** The app as a phone shows it: the shared shell over `store`, opened at `at`, with the desktop platform. */
@Composable
fun PhoneApp(store: GridlineStore, strings: Strings, at: Destination) {
    CompositionLocalProvider(LocalPlatform provides DesktopPlatform) {
        val start = Destination.Root(org.gridline.app.logic.Home.start(store.device().role))
        val navigator = remember { Navigator(start).also { if (at != start) it.go(at) } }
        GridlineShell(store, strings, navigator)
    }
}

/** Runs `block` against the app on a simulated `phone`. */
@OptIn(ExperimentalTestApi::class)
fun <R> onPhone(phone: Phone, block: SkikoComposeUiTest.() -> R): R =
    SkikoComposeUiTest(phone.width, phone.height, EmptyCoroutineContext, Density(phone.density, phone.fontScale)).runTest(block)

/** Encodes what the scene shows now as PNG into `file`. */
@OptIn(ExperimentalTestApi::class)
fun SkikoComposeUiTest.savePng(file: File) {
    val bitmap = captureToImage().asSkiaBitmap()
    val png = Image.makeFromBitmap(bitmap).encodeToData(EncodedImageFormat.PNG) ?: error("PNG encoding failed")
    file.parentFile.mkdirs()
    file.writeBytes(png.bytes)
}

/**
 * Renders every screen in both languages on every phone into `dir`; returns the files written. One scene per
 * phone and language shows the screens one after the other (a new scene per picture took seconds each).
 */
@OptIn(ExperimentalTestApi::class)
fun renderAll(day: FieldDay, dir: File, check: SkikoComposeUiTest.(AppScreen, Lang, Phone) -> Unit = { _, _, _ -> }): List<File> {
    val files = mutableListOf<File>()
    for (lang in Lang.entries) {
        val strings = Strings(lang)
        for (phone in Phone.ALL) {
            onPhone(phone) {
                var shown by mutableStateOf<AppScreen?>(null)
                setContent { shown?.let { screen -> key(screen) { PhoneApp(screen.store(day), strings, screen.at(day)) } } }
                for ((index, screen) in SCREENS.withIndex()) {
                    val file = File(dir, "%02d-%s-%s-%s.png".format(index + 1, screen.name, lang.name.lowercase(), phone.label))
                    shown = screen
                    waitForIdle()
                    screen.prepare(this, strings)
                    // The pointer rests on the top bar's title, as a finger lifted: left on the last control
                    // tapped, it drew a hover highlight on the next screen (seen in the screenshots).
                    onRoot().performMouseInput { moveTo(Offset(centerX, 1f)) }
                    waitForIdle()
                    check(screen, lang, phone)
                    savePng(file)
                    files += file
                }
            }
        }
    }
    return files.sortedBy { it.name }
}
