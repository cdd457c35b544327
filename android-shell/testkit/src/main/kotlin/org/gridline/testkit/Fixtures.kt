// Shared test fixtures: a fresh encrypted store in a temp directory with a small roster imported.
package org.gridline.testkit

import java.nio.file.Files
import java.security.SecureRandom
import org.gridline.core.InitOptions
import org.gridline.core.Role
import org.gridline.ffi.GridlineStore

object Fixtures {
    const val ROSTER = """grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes
g1,3,1,2,201,H-201,王秀英,F,1941,13800000001,,elderly_alone,独居
g1,3,1,5,502,H-502,李建国,M,1950,,,disabled;empty_nest,
g1,3,2,1,101,H-101,赵强,M,1985,,,,
"""

    /** Smallest byte string the core accepts as a PNG (it checks the magic number). */
    val PNG: ByteArray = byteArrayOf(0x89.toByte(), 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A) + ByteArray(64)

    fun key(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

    fun store(role: Role = Role.GRID_LEADER, user: String = "王芳", roster: String = ROSTER): GridlineStore {
        val dir = Files.createTempDirectory("gridline-jvm").resolve("store").toString()
        val store = GridlineStore.init(dir, key(), InitOptions(user, role, "Asia/Shanghai", "幸福里社区", null, listOf("g1")))
        store.importRoster(roster.toByteArray())
        return store
    }

    /** A standalone volunteer's store: no roster (a volunteer never holds one), no orders yet. */
    fun volunteer(user: String): GridlineStore {
        val dir = Files.createTempDirectory("gridline-jvm").resolve("store").toString()
        return GridlineStore.init(dir, key(), InitOptions(user, Role.VOLUNTEER, "Asia/Shanghai", "幸福里社区", null, listOf()))
    }
}
