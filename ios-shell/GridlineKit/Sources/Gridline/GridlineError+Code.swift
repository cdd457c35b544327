// The stable code of any Gridline error and the key of its localised message (`error_<code>`).
import Foundation

public extension GridlineError {
    /// Stable code.
    var code: ErrorCode {
        switch self {
        case let .Rejected(code, _, _), let .Store(code, _), let .Network(code, _): return code
        }
    }

    /// Where a refused roster file is wrong (0: the whole file), for `.rosterInvalid` only.
    var rosterLine: UInt32? {
        if case let .Rejected(_, _, roster) = self { return roster?.line }
        return nil
    }

    /// The Localizable.strings key for this error.
    var messageKey: String { code.messageKey }
}

public extension ErrorCode {
    /// The Localizable.strings key of this code's message. The switch lists every code, so a code the core
    /// adds does not compile here until it has a message (bindings/python/tests/test_localisation.py checks
    /// both languages have one).
    var messageKey: String {
        switch self {
        case .storeKeyInvalid: return "error_store_key_invalid"
        case .storeNotInitialised: return "error_store_not_initialised"
        case .storeExists: return "error_store_exists"
        case .storeTooNew: return "error_store_too_new"
        case .storeError: return "error_store_error"
        case .ioError: return "error_io_error"
        case .rosterInvalid: return "error_roster_invalid"
        case .householdNotFound: return "error_household_not_found"
        case .residentNotFound: return "error_resident_not_found"
        case .invalidInput: return "error_invalid_input"
        case .photoInvalid: return "error_photo_invalid"
        case .documentInvalid: return "error_document_invalid"
        case .actionNotAllowed: return "error_action_not_allowed"
        case .unknownCode: return "error_unknown_code"
        case .notFound: return "error_not_found"
        case .networkError: return "error_network_error"
        case .serverUnavailable: return "error_server_unavailable"
        case .serverRefused: return "error_server_refused"
        case .deviceRevoked: return "error_device_revoked"
        case .deviceRevokedUnverified: return "error_device_revoked_unverified"
        case .rateLimited: return "error_rate_limited"
        case .insecureServerUrl: return "error_insecure_server_url"
        case .notEnrolled: return "error_not_enrolled"
        case .syncCancelled: return "error_sync_cancelled"
        case .syncProtocol: return "error_sync_protocol"
        case .bundleInvalid: return "error_bundle_invalid"
        case .bundleOutOfScope: return "error_bundle_out_of_scope"
        case .signatureInvalid: return "error_signature_invalid"
        case .forbiddenChange: return "error_forbidden_change"
        case .forbiddenDocument: return "error_forbidden_document"
        case .unauthorized: return "error_unauthorized"
        case .enrollCodeInvalid: return "error_enroll_code_invalid"
        case .enrollCodeUsed: return "error_enroll_code_used"
        case .enrollCodeExpired: return "error_enroll_code_expired"
        case .invalidPublicKey: return "error_invalid_public_key"
        case .protocolUnsupported: return "error_protocol_unsupported"
        case .bodyTooLarge: return "error_body_too_large"
        case .malformedBody: return "error_malformed_body"
        case .malformedSyncMessage: return "error_malformed_sync_message"
        case .tooManyDocuments: return "error_too_many_documents"
        case .invalidDocId: return "error_invalid_doc_id"
        case .duplicateDocument: return "error_duplicate_document"
        case .blobTooLarge: return "error_blob_too_large"
        case .blobHashMismatch: return "error_blob_hash_mismatch"
        case .invalidBlobHash: return "error_invalid_blob_hash"
        case .missingDependencies: return "error_missing_dependencies"
        case .quotaExceeded: return "error_quota_exceeded"
        case .syncMessageTooLarge: return "error_sync_message_too_large"
        case .bodyTimeout: return "error_body_timeout"
        case .storageError: return "error_storage_error"
        case .internalError: return "error_internal_error"
        case .tlsCertInvalid: return "error_tls_cert_invalid"
        case .tlsKeyInvalid: return "error_tls_key_invalid"
        case .usage: return "error_usage"
        case .storeTooOld: return "error_store_too_old"
        case .migrationMismatch: return "error_migration_mismatch"
        case .pointsInsufficient: return "error_points_insufficient"
        case .outOfStock: return "error_out_of_stock"
        case .unknownItem: return "error_unknown_item"
        case .projectNotDone: return "error_project_not_done"
        }
    }
}
