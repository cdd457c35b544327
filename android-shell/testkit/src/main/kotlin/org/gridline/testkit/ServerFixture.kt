// A real gridline-server on loopback for the cross-device tests: a community with a roster, phones
// enrolled through the admin command. The binary is GRIDLINE_SERVER_BIN (bindings/test.sh builds it and sets it).
package org.gridline.testkit

import java.io.File
import java.net.HttpURLConnection
import java.net.ServerSocket
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import org.gridline.ffi.GridlineStore
import org.gridline.ffi.SyncCancel

class ServerFixture private constructor(private val bin: String, private val root: Path, roster: String) : AutoCloseable {
    private val data = root.resolve("server").toString()
    val community: String
    val url: String
    private val process: Process

    init {
        community = field(admin("community", "create", "--name", "幸福里社区"), "community_id")
        val roster = root.resolve("roster.csv").toFile().apply { writeText(roster) }
        admin("roster", "import", "--community", community, roster.path)
        val port = ServerSocket(0).use { it.localPort }
        url = "http://127.0.0.1:$port"
        process = ProcessBuilder(bin, "serve", "--data", data, "--listen", "127.0.0.1:$port")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        awaitReady()
    }

    /** Runs `gridline-server admin … --json` and returns its output; a failure fails the test. */
    private fun admin(vararg args: String): String {
        val p = ProcessBuilder(bin, "admin", "--data", data, "--json", *args).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { "admin ${args.toList()} failed: $out" }
        return out
    }

    /** The test kit's readiness probe: GET /healthz answers 200, polled every 20 ms for at most 30 s. */
    private fun awaitReady() {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
        while (true) {
            check(process.isAlive) { "gridline-server exited before it was ready: ${process.exitValue()}" }
            val up = runCatching {
                val c = URI("$url/healthz").toURL().openConnection() as HttpURLConnection
                c.connectTimeout = 1000
                c.readTimeout = 1000
                c.responseCode.also { c.disconnect() } == 200
            }.getOrDefault(false)
            if (up) return
            check(System.nanoTime() < deadline) { "gridline-server did not become ready in 30 s" }
            Thread.sleep(20)
        }
    }

    /** Enrolls a phone of `role` for `user` (grids for grid-scoped roles) and returns its new store. */
    fun enroll(user: String, role: String, vararg grids: String): GridlineStore = enroll(user, role, grids.toList(), emptyList())

    /** Enrolls a phone of `role` for `user` with its grids and, for a building lead, its buildings. */
    fun enroll(user: String, role: String, grids: List<String>, buildings: List<String>): GridlineStore {
        val args = grids.flatMap { listOf("--grid", it) } + buildings.flatMap { listOf("--building", it) }
        val code = field(admin("enroll", "--community", community, "--user", user, "--role", role, *args.toTypedArray()), "code")
        val dir = Files.createTempDirectory(root, "phone").resolve("store").toString()
        return GridlineStore.enroll(dir, Fixtures.key(), url, code)
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }

    companion object {
        /** The server binary, or null when GRIDLINE_SERVER_BIN is not set (a hand-run `mvn test`). */
        val bin: String? = System.getenv("GRIDLINE_SERVER_BIN")?.takeIf { File(it).canExecute() }

        /** Starts a server whose community holds `roster`. */
        fun start(roster: String = Fixtures.ROSTER): ServerFixture =
            ServerFixture(bin ?: error("GRIDLINE_SERVER_BIN"), Files.createTempDirectory("gridline-server"), roster)

        /** One string field of the admin command's JSON answer (its shapes are flat: `{"code": "…", …}`). */
        private fun field(json: String, name: String): String =
            Regex(""""$name"\s*:\s*"([^"]*)"""").find(json)?.groupValues?.get(1) ?: error("no $name in $json")
    }
}

/** One full sync, no progress observer; a failure fails the test. */
fun GridlineStore.syncNow() = sync(null, SyncCancel())
