// The shell's view of a Gridline error: its stable code and the string resource that explains it.
package org.gridline.app.logic

import org.gridline.ffi.GridlineException

/** The stable snake_case code of any Gridline error (the key of its localised message). */
val GridlineException.errorCode: String
    get() = when (this) {
        is GridlineException.Rejected -> code
        is GridlineException.Store -> code
        is GridlineException.Network -> code
    }

/** What the screen does about an error. */
enum class ErrorHandling {
    /** Show the message; the user can correct the input. */
    SHOW,
    /** The store cannot be used: show the message and offer support/reset, do not retry. */
    FATAL,
    /** Work is kept locally; retry later (background sync will). */
    RETRY_LATER,
}

/** An error ready for a screen: the resource key of its message and how to handle it. */
data class ScreenError(val code: String, val messageKey: String, val handling: ErrorHandling)

/** Maps error codes to string resource names (`error_<code>`), the same in every locale file. */
object ErrorMessages {
    /** Every code the core can raise today; a code missing here falls back to `error_unknown`. */
    val KNOWN_CODES: Set<String> = setOf(
        "store_key_invalid", "store_not_initialised", "store_exists", "store_too_new", "store_error", "io_error",
        "roster_invalid", "household_not_found", "resident_not_found", "invalid_input", "photo_invalid",
        "document_invalid", "action_not_allowed", "not_found",
        "network_error", "server_unavailable", "server_refused", "sync_protocol", "sync_cancelled", "unauthorized",
        "not_enrolled", "device_revoked", "enroll_code_invalid", "enroll_code_used", "enroll_code_expired",
        "forbidden_change", "forbidden_document", "protocol_unsupported",
        "insecure_server_url", "device_revoked_unverified", "rate_limited", "missing_dependencies",
        "quota_exceeded", "sync_message_too_large", "body_timeout",
    )

    /** The string resource name for `code`. */
    fun messageKey(code: String): String = if (code in KNOWN_CODES) "error_$code" else "error_unknown"

    /** The screen's view of a binding error. */
    fun of(e: GridlineException): ScreenError {
        val handling = when (e) {
            is GridlineException.Rejected -> ErrorHandling.SHOW
            is GridlineException.Store -> ErrorHandling.FATAL
            is GridlineException.Network -> ErrorHandling.RETRY_LATER
        }
        return ScreenError(e.errorCode, messageKey(e.errorCode), handling)
    }
}

/** What a screen shows: loading, the content, or an error. */
sealed interface ScreenState<out T> {
    /** Waiting for the store. */
    data object Loading : ScreenState<Nothing>
    /** Content loaded. */
    data class Loaded<T>(val content: T) : ScreenState<T>
    /** The call failed. */
    data class Failed(val error: ScreenError) : ScreenState<Nothing>
}

/**
 * Runs one binding call and turns its outcome into a [ScreenState]. Binding calls do disk I/O: view-models
 * call this from `Dispatchers.IO`, never from the main thread.
 */
inline fun <T> load(call: () -> T): ScreenState<T> =
    try {
        ScreenState.Loaded(call())
    } catch (e: GridlineException) {
        ScreenState.Failed(ErrorMessages.of(e))
    }
