// Localised text by key: `error_<code>`, `contact_<code>`, `tag_<code>` from Localizable.strings.
import Foundation
import Gridline

func t(_ key: String) -> String { NSLocalizedString(key, comment: "") }

func t(_ key: String, _ args: CVarArg...) -> String { String(format: NSLocalizedString(key, comment: ""), arguments: args) }

/// The message for any error thrown by a Gridline call (with the line of a refused roster file).
func message(for error: Error) -> String {
    guard let error = error as? GridlineError else { return t("error_unknown") }
    guard let line = error.rosterLine, line > 0 else { return t(error.messageKey) }
    return t(error.messageKey) + "\n" + t("error_roster_line", Int(line))
}
