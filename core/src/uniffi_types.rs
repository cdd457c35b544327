//! How the core's chrono values cross the FFI (feature `uniffi`): as the same text the CLI's JSON uses, so
//! every face reads one format. A day is `YYYY-MM-DD` (in the community's time zone); an instant is RFC 3339
//! with its UTC offset. Text rather than a platform date type keeps the three languages alike and lossless
//! (a `java.time` or `Foundation.Date` would drop the offset the phone recorded); shells parse it when they
//! need arithmetic, which they should not (due dates come from the core). Ordered maps cross as plain maps.

use chrono::{DateTime, FixedOffset, NaiveDate};

/// An instant with the UTC offset it was recorded with; crosses the FFI as RFC 3339 text.
pub type Timestamp = DateTime<FixedOffset>;

uniffi::custom_type!(NaiveDate, String, {
    remote,
    lower: |day| day.to_string(),
    try_lift: |text| Ok(NaiveDate::parse_from_str(&text, crate::model::DAY_FORMAT)
        .map_err(|_| crate::Error::invalid("date", format!("{text:?} is not a YYYY-MM-DD date")))?),
});

uniffi::custom_type!(Timestamp, String, {
    remote,
    lower: |at| at.to_rfc3339(),
    try_lift: |text| Ok(DateTime::parse_from_rfc3339(&text)
        .map_err(|_| crate::Error::invalid("time", format!("{text:?} is not an RFC 3339 time")))?),
});

/// Counts keyed by a code (incidents per stage …). Sorted in Rust; crosses as a plain map (uniffi has no
/// ordered map), which the shells order by their own display order anyway.
pub type CodeCounts = std::collections::BTreeMap<String, u32>;

uniffi::custom_type!(CodeCounts, std::collections::HashMap<String, u32>, {
    remote,
    lower: |counts| counts.into_iter().collect(),
    try_lift: |map| Ok(map.into_iter().collect()),
});
