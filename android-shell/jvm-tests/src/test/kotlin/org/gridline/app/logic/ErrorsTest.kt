// Errors reach screens as stable codes with a message in every locale.
package org.gridline.app.logic

import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.gridline.core.ErrorCode
import org.gridline.ffi.GridlineException
import org.gridline.ffi.GridlineStore
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

private val errorKeys = ErrorCode.entries.map { ErrorMessages.messageKey(it) }.toSet() + "error_unknown" + "error_roster_line"

class ErrorsTest {
    @Test
    fun `an unknown household is shown to the user with its code`() {
        val state = HouseholdPresenter(Fixtures.store(), "nope").load()
        val error = assertIs<ScreenState.Failed>(state).error
        assertEquals(ErrorCode.HOUSEHOLD_NOT_FOUND, error.code)
        assertEquals("error_household_not_found", error.messageKey)
        assertEquals(ErrorHandling.SHOW, error.handling)
    }

    @Test
    fun `a wrong key is a fatal store error`() {
        val dir = kotlin.io.path.createTempDirectory("gridline-key").resolve("s").toString()
        val key = Fixtures.key()
        GridlineStore.init(dir, key, org.gridline.core.InitOptions("a", org.gridline.core.Role.GRID_LEADER, "Asia/Shanghai", "", null, listOf()))
        val e = assertThrows<GridlineException.Store> { GridlineStore.open(dir, ByteArray(32)) }
        assertEquals(ErrorCode.STORE_KEY_INVALID, e.errorCode)
        assertEquals(ErrorHandling.FATAL, ErrorMessages.of(e).handling)
    }

    @Test
    fun `every code has a message of its own and none falls back to the generic one`() {
        val keys = ErrorCode.entries.map { ErrorMessages.messageKey(it) }
        assertEquals(keys.size, keys.toSet().size, "two codes share a message key")
        assertTrue("error_unknown" !in keys)
    }

    @Test
    fun `a refused roster file tells the screen which line is wrong`() {
        val store = Fixtures.store()
        val e = assertThrows<GridlineException.Rejected> {
            val header = Fixtures.ROSTER.lines().first()
            store.importRoster("$header\ng1,3,1,2,201,,王秀英,F,1941,,,,\n".toByteArray())
        }
        val error = ErrorMessages.of(e)
        assertEquals(ErrorCode.ROSTER_INVALID, error.code)
        assertEquals(2u, error.rosterLine)
    }

    @Test
    fun `every error code has a message in Chinese and English`() {
        val missing = errorKeys.filterNot { it in Strings.keys }
        assertTrue(missing.isEmpty(), "the message table lacks $missing")
        for (lang in Lang.entries) {
            assertTrue(errorKeys.none { Strings(lang)[it].isBlank() }, "a blank $lang error message")
        }
    }

    @Test
    fun `the iOS shell has every error message and enum label in both languages`() {
        val ios = File("../../ios-shell/Gridline/Resources")
        for (lang in listOf("zh-Hans", "en")) {
            val keys = Regex("""^"([a-z0-9_]+)" =""", RegexOption.MULTILINE)
                .findAll(File(ios, "$lang.lproj/Localizable.strings").readText()).map { it.groupValues[1] }.toSet()
            val missing = (errorKeys + enumKeys) - keys
            assertTrue(missing.isEmpty(), "$lang.lproj lacks $missing")
        }
    }
}
