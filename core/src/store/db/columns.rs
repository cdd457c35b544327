//! Reading the store's columns back into the core's types: enum codes, RFC 3339 times and days. A value
//! this build did not write is a conversion error (the tables are written by this build only).

use chrono::{DateTime, FixedOffset, NaiveDate};

/// A column holding a code the store wrote from one of the core's enums, parsed back; a code this build
/// does not know is a conversion error (the tables are written by this build only).
pub(crate) fn code_column<T: std::str::FromStr>(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let code: String = r.get(idx)?;
    code.parse().map_err(|_| conversion_error(idx, format!("unknown code {code:?}")))
}

/// A nullable column holding a code, parsed as [`code_column`] does.
pub(crate) fn optional_code_column<T: std::str::FromStr>(
    r: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<T>> {
    let code: Option<String> = r.get(idx)?;
    code.map(|c| c.parse().map_err(|_| conversion_error(idx, format!("unknown code {c:?}")))).transpose()
}

/// A column holding an RFC 3339 time, parsed with its offset.
pub(crate) fn time_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<DateTime<FixedOffset>> {
    let text: String = r.get(idx)?;
    parse_time(idx, &text)
}

/// A nullable column holding an RFC 3339 time.
pub(crate) fn optional_time_column(
    r: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<DateTime<FixedOffset>>> {
    let text: Option<String> = r.get(idx)?;
    text.map(|t| parse_time(idx, &t)).transpose()
}

fn parse_time(idx: usize, text: &str) -> rusqlite::Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).map_err(|_| conversion_error(idx, format!("{text:?} is not an RFC 3339 time")))
}

fn conversion_error(idx: usize, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, why.into())
}

/// A column holding a day (`YYYY-MM-DD`).
pub(crate) fn day_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<NaiveDate> {
    let text: String = r.get(idx)?;
    parse_day(&text).ok_or_else(|| conversion_error(idx, format!("{text:?} is not a YYYY-MM-DD day")))
}

/// A day as the tables store it (`YYYY-MM-DD`).
pub(crate) fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, crate::model::DAY_FORMAT).ok()
}

/// A day as the tables store it (`YYYY-MM-DD`).
pub(crate) fn day_text(d: NaiveDate) -> String {
    d.to_string()
}
