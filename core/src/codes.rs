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
