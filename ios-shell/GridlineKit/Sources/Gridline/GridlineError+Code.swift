// The stable code of any Gridline error: the key of its localised message (`error_<code>`).
import Foundation

public extension GridlineError {
    /// Stable snake_case code.
    var code: String {
        switch self {
        case let .Rejected(code, _), let .Store(code, _), let .Network(code, _): return code
        }
    }

    /// The Localizable.strings key for this error.
    var messageKey: String { "error_\(code)" }
}
