// The shell's view of a Gridline error: its stable code and the string resource that explains it.
package org.gridline.app.logic

import org.gridline.core.ErrorCode
import org.gridline.ffi.GridlineException

/** The stable code of any Gridline error (what its localised message is keyed by). */
val GridlineException.errorCode: ErrorCode
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

/**
 * An error ready for a screen: its code, the resource name of its message, how to handle it, and for a refused
 * roster file the line that is wrong (0: the whole file).
 */
data class ScreenError(
    val code: ErrorCode,
    val messageKey: String,
    val handling: ErrorHandling,
    val rosterLine: UInt? = null,
)

/** Maps error codes to string resource names (`error_<code>`), the same in every locale file. */
object ErrorMessages {
    /**
     * The string resource name for `code`. The `when` lists every code, so a code the core adds does not
     * compile here until it has a message (and ErrorsTest checks both locales have it).
     */
    fun messageKey(code: ErrorCode): String = when (code) {
        ErrorCode.STORE_KEY_INVALID -> "error_store_key_invalid"
        ErrorCode.STORE_NOT_INITIALISED -> "error_store_not_initialised"
        ErrorCode.STORE_EXISTS -> "error_store_exists"
        ErrorCode.STORE_TOO_NEW -> "error_store_too_new"
        ErrorCode.STORE_ERROR -> "error_store_error"
        ErrorCode.IO_ERROR -> "error_io_error"
        ErrorCode.ROSTER_INVALID -> "error_roster_invalid"
        ErrorCode.HOUSEHOLD_NOT_FOUND -> "error_household_not_found"
        ErrorCode.RESIDENT_NOT_FOUND -> "error_resident_not_found"
        ErrorCode.INVALID_INPUT -> "error_invalid_input"
        ErrorCode.PHOTO_INVALID -> "error_photo_invalid"
        ErrorCode.DOCUMENT_INVALID -> "error_document_invalid"
        ErrorCode.ACTION_NOT_ALLOWED -> "error_action_not_allowed"
        ErrorCode.UNKNOWN_CODE -> "error_unknown_code"
        ErrorCode.NOT_FOUND -> "error_not_found"
        ErrorCode.NETWORK_ERROR -> "error_network_error"
        ErrorCode.SERVER_UNAVAILABLE -> "error_server_unavailable"
        ErrorCode.SERVER_REFUSED -> "error_server_refused"
        ErrorCode.DEVICE_REVOKED -> "error_device_revoked"
        ErrorCode.DEVICE_REVOKED_UNVERIFIED -> "error_device_revoked_unverified"
        ErrorCode.RATE_LIMITED -> "error_rate_limited"
        ErrorCode.INSECURE_SERVER_URL -> "error_insecure_server_url"
        ErrorCode.NOT_ENROLLED -> "error_not_enrolled"
        ErrorCode.SYNC_CANCELLED -> "error_sync_cancelled"
        ErrorCode.SYNC_PROTOCOL -> "error_sync_protocol"
        ErrorCode.BUNDLE_INVALID -> "error_bundle_invalid"
        ErrorCode.BUNDLE_OUT_OF_SCOPE -> "error_bundle_out_of_scope"
        ErrorCode.SIGNATURE_INVALID -> "error_signature_invalid"
        ErrorCode.FORBIDDEN_CHANGE -> "error_forbidden_change"
        ErrorCode.FORBIDDEN_DOCUMENT -> "error_forbidden_document"
        ErrorCode.UNAUTHORIZED -> "error_unauthorized"
        ErrorCode.ENROLL_CODE_INVALID -> "error_enroll_code_invalid"
        ErrorCode.ENROLL_CODE_USED -> "error_enroll_code_used"
        ErrorCode.ENROLL_CODE_EXPIRED -> "error_enroll_code_expired"
        ErrorCode.INVALID_PUBLIC_KEY -> "error_invalid_public_key"
        ErrorCode.PROTOCOL_UNSUPPORTED -> "error_protocol_unsupported"
        ErrorCode.BODY_TOO_LARGE -> "error_body_too_large"
        ErrorCode.MALFORMED_BODY -> "error_malformed_body"
        ErrorCode.MALFORMED_SYNC_MESSAGE -> "error_malformed_sync_message"
        ErrorCode.TOO_MANY_DOCUMENTS -> "error_too_many_documents"
        ErrorCode.INVALID_DOC_ID -> "error_invalid_doc_id"
        ErrorCode.DUPLICATE_DOCUMENT -> "error_duplicate_document"
        ErrorCode.BLOB_TOO_LARGE -> "error_blob_too_large"
        ErrorCode.BLOB_HASH_MISMATCH -> "error_blob_hash_mismatch"
        ErrorCode.INVALID_BLOB_HASH -> "error_invalid_blob_hash"
        ErrorCode.MISSING_DEPENDENCIES -> "error_missing_dependencies"
        ErrorCode.QUOTA_EXCEEDED -> "error_quota_exceeded"
        ErrorCode.SYNC_MESSAGE_TOO_LARGE -> "error_sync_message_too_large"
        ErrorCode.BODY_TIMEOUT -> "error_body_timeout"
        ErrorCode.STORAGE_ERROR -> "error_storage_error"
        ErrorCode.INTERNAL_ERROR -> "error_internal_error"
        ErrorCode.TLS_CERT_INVALID -> "error_tls_cert_invalid"
        ErrorCode.TLS_KEY_INVALID -> "error_tls_key_invalid"
        ErrorCode.USAGE -> "error_usage"
        ErrorCode.STORE_TOO_OLD -> "error_store_too_old"
        ErrorCode.MIGRATION_MISMATCH -> "error_migration_mismatch"
        ErrorCode.POINTS_INSUFFICIENT -> "error_points_insufficient"
        ErrorCode.OUT_OF_STOCK -> "error_out_of_stock"
        ErrorCode.UNKNOWN_ITEM -> "error_unknown_item"
        ErrorCode.PROJECT_NOT_DONE -> "error_project_not_done"
        ErrorCode.ALREADY_SURVEYED -> "error_already_surveyed"
    }

    /** The screen's view of a binding error. */
    fun of(e: GridlineException): ScreenError {
        val handling = when (e) {
            is GridlineException.Rejected -> ErrorHandling.SHOW
            is GridlineException.Store -> ErrorHandling.FATAL
            is GridlineException.Network -> ErrorHandling.RETRY_LATER
        }
        val rosterLine = (e as? GridlineException.Rejected)?.roster?.line
        return ScreenError(e.errorCode, messageKey(e.errorCode), handling, rosterLine)
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
