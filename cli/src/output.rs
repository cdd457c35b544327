//! Printing: one JSON document with `--json`, human text otherwise.

use gridline_core::ErrorCode;
use serde_json::Value;

/// A command's result: the JSON document and its human rendering.
pub struct Output {
    /// The `--json` document.
    pub json: Value,
    /// Human text.
    pub human: String,
}

impl Output {
    /// A result from a serialisable value and its human text.
    pub fn new(value: impl serde::Serialize, human: impl Into<String>) -> Output {
        Output { json: serde_json::to_value(value).unwrap_or(Value::Null), human: human.into() }
    }

    /// Prints the result.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json);
        } else {
            println!("{}", self.human.trim_end());
        }
    }
}

/// Prints an error: `{"error": {"code", "message"}}` on stdout with `--json`, `code: message` on stderr.
pub fn print_error(json: bool, code: ErrorCode, message: &str) {
    if json {
        println!("{}", gridline_core::error::error_document(code, message));
    } else {
        eprintln!("{code}: {message}");
    }
}
