//! The community's configuration as one JSON document (`gridline-server admin config show|set`): the whole
//! `CommunitySettings` read from the community document with its revision, checked as a whole before anything
//! is written, and written back only onto the revision it was read at, so an edit made from a stale copy never
//! silently undoes someone else's.
//!
//! The file is the `show` output edited: `{"revision": N, "community_id": …, "name": …, …}`. A field the
//! configuration does not have (a typo such as `"pionts"`) is refused rather than ignored.

use std::collections::HashSet;

use gridline_core::docs::{self, valid_code, DocId};
use gridline_core::model::community::CatalogueEntry;
use gridline_core::model::CommunitySettings;
use gridline_core::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{Result, ServerError};

/// Largest configuration file read, in bytes (the defaults take about 6 KiB).
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024;
/// Most entries in one catalogue (categories, incident categories, visit services, services, shop items).
pub const MAX_ENTRIES: usize = 200;
/// Most characters of a name (of the community, of a catalogue entry).
pub const MAX_NAME_CHARS: usize = 100;
/// Most characters of the community's name (as `admin community create` allows).
pub const MAX_COMMUNITY_NAME_CHARS: usize = 200;
/// Highest points a service credits, and highest price of a shop item.
pub const MAX_POINTS: u32 = 100_000;
/// Highest stock of a shop item.
pub const MAX_STOCK: u32 = 1_000_000;
/// Longest a service may count for, in minutes (a day).
pub const MAX_SERVICE_MINUTES: u32 = 1440;
/// Longest period of a care-plan contact and of the rotation, in days.
pub const MAX_PERIOD_DAYS: u32 = 366;
/// Longest incident deadline, in minutes (366 days).
pub const MAX_DEADLINE_MINUTES: u32 = 366 * 24 * 60;
/// Longest default time to a service order's due date, in days.
pub const MAX_ORDER_DUE_DAYS: u32 = 365;
/// Most survey items and department aspects (双评议): every survey answers each item, so the list stays short.
pub const MAX_EVALUATION_ITEMS: usize = gridline_core::evaluation::MAX_ITEMS;
/// Problems named in one refusal; the rest are counted.
const MAX_PROBLEMS_NAMED: usize = 10;

/// The configuration as `show` prints it and `set` reads it: the settings and the revision they were read at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDocument {
    /// The configuration's revision: 0 until the first `set`, raised by one by each `set` that changes it.
    pub revision: u64,
    /// The configuration.
    #[serde(flatten)]
    pub settings: CommunitySettings,
}

/// What a `set` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigWritten {
    /// Community id.
    pub community_id: String,
    /// The revision now stored.
    pub revision: u64,
    /// False when the file matched the stored configuration (nothing written, the revision kept).
    pub changed: bool,
}

/// The community's configuration and its revision.
pub fn show(engine: &Engine, community_id: &str) -> Result<ConfigDocument> {
    require_community(engine, community_id)?;
    let doc = engine
        .document(&DocId::community(community_id).to_string())?
        .ok_or_else(|| ServerError::not_found(format!("community document {community_id:?} not found")))?;
    Ok(ConfigDocument {
        revision: docs::community::settings_revision(&doc),
        settings: docs::community::read_settings(&doc),
    })
}

/// Parses a configuration file (see the module documentation): `invalid_input` naming what is wrong.
pub fn parse(bytes: &[u8]) -> Result<ConfigDocument> {
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(invalid(format!("the file has {} bytes, at most {MAX_CONFIG_BYTES} are read", bytes.len())));
    }
    let given: Value = serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let Value::Object(mut fields) = given.clone() else {
        return Err(invalid("the file holds no JSON object (write what `config show --json` prints)".to_string()));
    };
    let revision = match fields.remove("revision") {
        None => {
            return Err(invalid(
                "revision: missing (start from what `config show` prints: it says which revision the edit is \
                 based on)"
                    .to_string(),
            ))
        }
        Some(r) => r.as_u64().ok_or_else(|| invalid("revision: not a whole number".to_string()))?,
    };
    // Read as the settings themselves (not flattened into the document), so an error names its field's path.
    let settings: CommunitySettings = serde_path_to_error::deserialize(Value::Object(fields))
        .map_err(|e| invalid(format!("{}: {}", e.path(), e.inner())))?;
    let parsed = ConfigDocument { revision, settings };
    let known = serde_json::to_value(&parsed).map_err(ServerError::internal)?;
    if let Some(path) = unknown_field(&given, &known, "") {
        return Err(invalid(format!("{path}: no such field")));
    }
    Ok(parsed)
}

/// Writes `config` as the configuration of `community_id`, through the engine (one change to the community
/// document, by the server's actor), when it is valid and based on the stored revision; returns the revision
/// stored. A stale revision is `action_not_allowed`; an invalid configuration `invalid_input`, nothing
/// written either way.
pub fn set(engine: &Engine, community_id: &str, config: &ConfigDocument) -> Result<ConfigWritten> {
    require_community(engine, community_id)?;
    if config.settings.community_id != community_id {
        return Err(invalid(format!(
            "community_id: the file is community {:?}'s configuration, not {community_id:?}'s",
            config.settings.community_id
        )));
    }
    check(&config.settings)?;
    let id = DocId::community(community_id);
    // Written only onto the stored form it was checked against: a `set` of another process in between makes
    // the check run again on what it stored, which then finds the revision stale.
    let (written, _) = engine.edit_once(std::slice::from_ref(&id), |docs| {
        let doc = &mut docs[0];
        let stored = docs::community::settings_revision(doc);
        if config.revision != stored {
            return Err(stale(community_id, config.revision, stored));
        }
        if docs::community::read_settings(doc) == config.settings {
            return Ok(ConfigWritten { community_id: community_id.to_string(), revision: stored, changed: false });
        }
        let revision = stored + 1;
        docs::community::write_settings(doc, &config.settings)?;
        docs::community::put_settings_revision(doc, revision)?;
        Ok(ConfigWritten { community_id: community_id.to_string(), revision, changed: true })
    })?;
    Ok(written)
}

/// Checks a whole configuration; `invalid_input` naming every problem found (the first few of them).
pub fn check(s: &CommunitySettings) -> Result<()> {
    let problems = problems(s);
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = problems.iter().take(MAX_PROBLEMS_NAMED).cloned().collect::<Vec<_>>().join("; ");
    if problems.len() > MAX_PROBLEMS_NAMED {
        message.push_str(&format!("; and {} more", problems.len() - MAX_PROBLEMS_NAMED));
    }
    Err(invalid(message))
}

/// Every problem of a configuration, each naming its field (`service_catalogue[2].points: …`).
pub fn problems(s: &CommunitySettings) -> Vec<String> {
    let mut out = Vec::new();
    let name = s.name.trim();
    if name.is_empty() || name.chars().count() > MAX_COMMUNITY_NAME_CHARS {
        out.push(format!("name: 1 to {MAX_COMMUNITY_NAME_CHARS} characters"));
    }
    if s.timezone.parse::<chrono_tz::Tz>().is_err() {
        out.push(format!("timezone: unknown time zone {:?}", s.timezone));
    }
    let mut entries = Catalogue::new(&mut out);
    entries.check("categories", s.categories.iter().map(|c| (c.code.as_str(), c.name_zh.as_str(), c.name_en.as_str())));
    entries.check("incident_categories", s.incident_categories.iter().map(names));
    entries.check("visit_services", s.visit_services.iter().map(names));
    entries.check(
        "service_catalogue",
        s.service_catalogue.iter().map(|o| (o.code.as_str(), o.name_zh.as_str(), o.name_en.as_str())),
    );
    entries.check("shop_items", s.shop_items.iter().map(|i| (i.code.as_str(), i.name_zh.as_str(), i.name_en.as_str())));
    entries.check("survey_items", s.survey_items.iter().map(names));
    entries.check("department_aspects", s.department_aspects.iter().map(names));
    for (field, count) in [("survey_items", s.survey_items.len()), ("department_aspects", s.department_aspects.len())] {
        if count > MAX_EVALUATION_ITEMS {
            out.push(format!("{field}: at most {MAX_EVALUATION_ITEMS} entries (each is answered 1 to 5)"));
        }
    }
    for (n, c) in s.categories.iter().enumerate() {
        let mut contacts = HashSet::new();
        for (m, p) in c.plan.iter().enumerate() {
            if !(1..=MAX_PERIOD_DAYS).contains(&p.period_days) {
                out.push(format!("categories[{n}].plan[{m}].period_days: 1 to {MAX_PERIOD_DAYS}"));
            }
            if !contacts.insert(p.contact) {
                out.push(format!("categories[{n}].plan[{m}].contact: {} appears twice", p.contact.code()));
            }
        }
    }
    for (n, o) in s.service_catalogue.iter().enumerate() {
        if !(1..=MAX_POINTS).contains(&o.points) {
            out.push(format!("service_catalogue[{n}].points: 1 to {MAX_POINTS}"));
        }
        if o.minutes > MAX_SERVICE_MINUTES {
            out.push(format!("service_catalogue[{n}].minutes: at most {MAX_SERVICE_MINUTES}"));
        }
    }
    for (n, i) in s.shop_items.iter().enumerate() {
        if !(1..=MAX_POINTS).contains(&i.price_points) {
            out.push(format!("shop_items[{n}].price_points: 1 to {MAX_POINTS}"));
        }
        if i.stock > MAX_STOCK {
            out.push(format!("shop_items[{n}].stock: at most {MAX_STOCK}"));
        }
    }
    let d = &s.deadlines;
    for (field, minutes) in [
        ("urgent_ack_minutes", d.urgent_ack_minutes),
        ("committee_review_minutes", d.committee_review_minutes),
        ("station_verify_minutes", d.station_verify_minutes),
        ("resolve_minutes", d.resolve_minutes),
    ] {
        if !(1..=MAX_DEADLINE_MINUTES).contains(&minutes) {
            out.push(format!("deadlines.{field}: 1 to {MAX_DEADLINE_MINUTES}"));
        }
    }
    if !(1..=MAX_PERIOD_DAYS).contains(&s.rotation_days) {
        out.push(format!("rotation_days: 1 to {MAX_PERIOD_DAYS}"));
    }
    if !(1..=MAX_ORDER_DUE_DAYS).contains(&s.order_due_days) {
        out.push(format!("order_due_days: 1 to {MAX_ORDER_DUE_DAYS}"));
    }
    out
}

fn names(e: &CatalogueEntry) -> (&str, &str, &str) {
    (e.code.as_str(), e.name_zh.as_str(), e.name_en.as_str())
}

/// The checks every catalogue shares: not empty (an empty one would read back as the defaults), bounded,
/// codes valid and unique, names given and bounded.
struct Catalogue<'a> {
    out: &'a mut Vec<String>,
}

impl<'a> Catalogue<'a> {
    fn new(out: &'a mut Vec<String>) -> Catalogue<'a> {
        Catalogue { out }
    }

    fn check<'e>(&mut self, field: &str, entries: impl ExactSizeIterator<Item = (&'e str, &'e str, &'e str)>) {
        let len = entries.len();
        if len == 0 || len > MAX_ENTRIES {
            self.out.push(format!("{field}: 1 to {MAX_ENTRIES} entries"));
        }
        let mut codes = HashSet::new();
        for (n, (code, name_zh, name_en)) in entries.enumerate() {
            if !valid_code(code) {
                self.out.push(format!("{field}[{n}].code: 1 to 32 of A-Z, a-z, 0-9, - and _"));
            } else if !codes.insert(code) {
                self.out.push(format!("{field}[{n}].code: {code:?} appears twice"));
            }
            for (which, name) in [("name_zh", name_zh), ("name_en", name_en)] {
                let chars = name.trim().chars().count();
                if chars == 0 || chars > MAX_NAME_CHARS {
                    self.out.push(format!("{field}[{n}].{which}: 1 to {MAX_NAME_CHARS} characters"));
                }
            }
        }
    }
}

/// The path of the first field of `given` that `known` (the same document as parsed) does not have.
fn unknown_field(given: &Value, known: &Value, at: &str) -> Option<String> {
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => g.iter().find_map(|(key, value)| {
            let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            match k.get(key) {
                None => Some(path),
                Some(known) => unknown_field(value, known, &path),
            }
        }),
        (Value::Array(g), Value::Array(k)) => {
            g.iter().zip(k).enumerate().find_map(|(n, (g, k))| unknown_field(g, k, &format!("{at}[{n}]")))
        }
        _ => None,
    }
}

fn require_community(engine: &Engine, community_id: &str) -> Result<()> {
    match engine.storage().community(community_id)? {
        Some(_) => Ok(()),
        None => Err(ServerError::not_found(format!("community {community_id:?} not found"))),
    }
}

fn invalid(message: String) -> ServerError {
    ServerError::bad_request(ErrorCode::InvalidInput, format!("configuration: {message}"))
}

/// The refusal of a configuration based on an older revision than the stored one.
fn stale(community_id: &str, based_on: u64, stored: u64) -> ServerError {
    ServerError::new(
        axum::http::StatusCode::CONFLICT,
        ErrorCode::ActionNotAllowed,
        format!(
            "configuration of {community_id}: the file is based on revision {based_on}, but revision {stored} is \
             stored (someone changed it meanwhile): run `config show` again, redo the edit on it, and set that"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> CommunitySettings {
        CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai")
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(problems(&defaults()), Vec::<String>::new());
    }

    #[test]
    fn every_bound_is_named() {
        let mut s = defaults();
        s.timezone = "Mars/Base".into();
        s.service_catalogue[1].code = s.service_catalogue[0].code.clone();
        s.service_catalogue[2].points = 0;
        s.service_catalogue[3].minutes = 1441;
        s.service_catalogue[4].name_en = " ".into();
        s.shop_items[0].price_points = MAX_POINTS + 1;
        s.shop_items[1].stock = MAX_STOCK + 1;
        s.shop_items[2].code = "rice 5kg".into();
        s.categories[0].plan[0].period_days = 0;
        s.deadlines.resolve_minutes = 0;
        s.order_due_days = 366;
        s.visit_services.clear();
        s.survey_items[1].code = "a b".into();
        s.department_aspects = (0..=MAX_EVALUATION_ITEMS)
            .map(|n| CatalogueEntry { code: format!("a{n}"), name_zh: "项".into(), name_en: "Aspect".into() })
            .collect();
        let found = problems(&s);
        for expected in [
            "timezone:",
            "service_catalogue[1].code:",
            "service_catalogue[2].points:",
            "service_catalogue[3].minutes:",
            "service_catalogue[4].name_en:",
            "shop_items[0].price_points:",
            "shop_items[1].stock:",
            "shop_items[2].code:",
            "categories[0].plan[0].period_days:",
            "deadlines.resolve_minutes:",
            "order_due_days:",
            "visit_services:",
            "survey_items[1].code:",
            "department_aspects: at most",
        ] {
            assert!(found.iter().any(|p| p.starts_with(expected)), "{expected} not in {found:?}");
        }
        let err = check(&s).expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("and 4 more"), "{}", err.message);
    }

    #[test]
    fn a_file_is_read_strictly() {
        let show = ConfigDocument { revision: 4, settings: defaults() };
        let text = serde_json::to_string(&show).expect("json");
        assert_eq!(parse(text.as_bytes()).expect("parse"), show);
        let typo = text.replacen("\"points\"", "\"pionts\"", 1);
        assert!(parse(typo.as_bytes()).expect_err("typo").message.contains("points"));
        let extra = text.replacen("\"revision\"", "\"colour\":\"red\",\"revision\"", 1);
        assert!(parse(extra.as_bytes()).expect_err("extra").message.contains("colour: no such field"));
        let nested = text.replacen("\"stock\"", "\"colour\":1,\"stock\"", 1);
        assert!(parse(nested.as_bytes()).expect_err("nested").message.contains("shop_items[0].colour"));
        let unrevised = text.replacen("\"revision\":4,", "", 1);
        assert!(parse(unrevised.as_bytes()).expect_err("no revision").message.contains("revision: missing"));
        for bad in [&b"[]"[..], b"{", b"\xff\xfe", &vec![b' '; MAX_CONFIG_BYTES as usize + 1]] {
            assert_eq!(parse(bad).expect_err("bad").code, ErrorCode::InvalidInput);
        }
        let negative = text.replacen("\"order_due_days\":3", "\"order_due_days\":-3", 1);
        assert_eq!(parse(negative.as_bytes()).expect_err("negative").code, ErrorCode::InvalidInput);
    }
}
