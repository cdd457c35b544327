//! Stable codes for the core's unit enums, written once beside each variant.
//!
//! `coded_enum!` declares an enum from a table of `Variant = "code"` rows and derives from that one table
//! the enum's `code()`, `ALL`, `Display` and `FromStr` (the one parse signature: `"door".parse::<CheckInKind>()`,
//! failing with [`Error::InvalidInput`](crate::Error::InvalidInput)). Serde's `rename_all = "snake_case"`
//! spells the same codes on the wire; each module's tests check the two agree.

/// Declares a unit enum whose variants carry stable codes, and derives `code()`, `ALL`, `Display` and
/// `FromStr` from them. The `#[codes(...)]` line names the input field and the thing for the parse error
/// (`kind: unknown check-in kind "x" (door, phone, …)`), and whether that error lists the codes.
macro_rules! coded_enum {
    (
        #[codes(field = $field:literal, name = $name:literal, list = $list:literal)]
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $ty {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: [$ty; [$($code),+].len()] = [$($ty::$variant),+];

            /// The stable code.
            pub fn code(&self) -> &'static str {
                match self {
                    $($ty::$variant => $code),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::Error;

            fn from_str(code: &str) -> std::result::Result<$ty, $crate::Error> {
                match code {
                    $($code => Ok($ty::$variant),)+
                    _ => Err($crate::codes::unknown($field, $name, code, if $list { &[$($code),+] } else { &[] })),
                }
            }
        }
    };
}

pub(crate) use coded_enum;

/// The error for a code no variant has: `field: unknown name "code"`, then the codes there are, if listed.
pub(crate) fn unknown(field: &str, name: &str, code: &str, codes: &[&str]) -> crate::Error {
    let choices = if codes.is_empty() { String::new() } else { format!(" ({})", codes.join(", ")) };
    crate::Error::invalid(field, format!("unknown {name} {code:?}{choices}"))
}

#[cfg(test)]
mod tests {
    use crate::model::{CheckInKind, CheckInOutcome, ContactKind, Role, Severity, VisitKind};
    use crate::schedule::DueContact;
    use crate::service_workflow::{OrderAction, OrderStage};
    use crate::workflow::{Action, Stage, SupersededReason};

    /// Serde's snake_case spelling of every value is its code, and every code parses back to the value.
    fn agree<T>(all: &[T])
    where
        T: serde::Serialize + std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
        T::Err: std::fmt::Debug,
    {
        for value in all {
            let code = value.to_string();
            assert_eq!(serde_json::to_value(value).ok(), Some(serde_json::Value::String(code.clone())));
            assert_eq!(code.parse::<T>().ok().as_ref(), Some(value));
        }
    }

    #[test]
    fn serde_spells_the_codes_and_the_codes_parse_back() {
        agree(&CheckInKind::ALL);
        agree(&CheckInOutcome::ALL);
        agree(&Role::ALL);
        agree(&ContactKind::ALL);
        agree(&Severity::ALL);
        agree(&VisitKind::ALL);
        agree(&DueContact::ALL);
        agree(&Stage::ALL);
        agree(&Action::ALL);
        agree(&SupersededReason::ALL);
        agree(&OrderStage::ALL);
        agree(&OrderAction::ALL);
    }

    #[test]
    fn an_unknown_code_names_the_field_and_lists_the_codes_where_asked() {
        let outcome = "problem_found".parse::<CheckInOutcome>().map_err(|e| e.to_string());
        assert_eq!(outcome, Err(r#"outcome: unknown outcome "problem_found" (well, attention, problem)"#.into()));
        let role = "mayor".parse::<Role>().map_err(|e| e.to_string());
        assert_eq!(role, Err(r#"role: unknown role "mayor""#.into()));
    }

    #[cfg(feature = "ledger")]
    #[test]
    fn an_unknown_language_lists_the_languages() {
        let lang = "fr".parse::<crate::ledger::export::Lang>().map_err(|e| e.to_string());
        assert_eq!(lang, Err(r#"lang: unknown language "fr" (zh, en)"#.into()));
    }
}
