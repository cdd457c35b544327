// Localised text by key: `error_<code>`, `contact_<code>`, `tag_<code>` from Localizable.strings.
import Foundation
import Gridline

func t(_ key: String) -> String { NSLocalizedString(key, comment: "") }

func t(_ key: String, _ args: CVarArg...) -> String { String(format: NSLocalizedString(key, comment: ""), arguments: args) }

/// The message for any error thrown by a Gridline call.
func message(for error: Error) -> String {
    (error as? GridlineError).map { t($0.messageKey) } ?? t("error_unknown")
}
