//! The community document: name, time zone, grids, special-care categories with care plans, catalogues and
//! the deadline policy. Each catalogue entry is its own map so that two admins editing different entries
//! offline both keep their edits.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};

use super::{entities, get_entity, i, put_entity, s, Entity};
use crate::error::{Error, Result};
use crate::model::community::{CatalogueEntry, ServiceOffer, ShopItem};
use crate::model::{CarePlanContact, CommunitySettings, ContactKind, DeadlinePolicy, SpecialCareCategory};

/// Root key of the community's name.
pub const NAME_KEY: &str = "name";
/// Root key of the community's time zone (IANA name).
pub const TIMEZONE_KEY: &str = "timezone";
/// Root key of the rotation period in days.
pub const ROTATION_DAYS_KEY: &str = "rotation_days";
/// Root-key prefix of grids: `grid/<code>`.
pub const GRID_PREFIX: &str = "grid/";
/// Root-key prefix of special-care categories: `category/<code>`.
pub const CATEGORY_PREFIX: &str = "category/";
/// Root-key prefix of the incident category catalogue.
pub const INCIDENT_CATEGORY_PREFIX: &str = "incident_category/";
/// Root-key prefix of the visit service catalogue.
pub const VISIT_SERVICE_PREFIX: &str = "visit_service/";
/// Root-key prefix of the service catalogue: `service/<code>`.
pub const SERVICE_PREFIX: &str = "service/";
/// Root-key prefix of the love supermarket's items: `shop_item/<code>`.
pub const SHOP_ITEM_PREFIX: &str = "shop_item/";
/// Root-key prefix of the residents' survey items: `survey_item/<code>`.
pub const SURVEY_ITEM_PREFIX: &str = "survey_item/";
/// Root-key prefix of the aspects departments are rated on: `department_aspect/<code>`.
pub const DEPARTMENT_ASPECT_PREFIX: &str = "department_aspect/";
/// Root key of the days a service order is due in by default.
pub const ORDER_DUE_DAYS_KEY: &str = "order_due_days";
/// Root key of the deadline policy.
pub const DEADLINES_KEY: &str = "deadlines";
/// Root key of the configuration's revision: raised by every whole-configuration write of an administrator
/// (`gridline-server admin config set`), so that a write made from a stale copy is refused.
pub const SETTINGS_REVISION_KEY: &str = "settings_revision";

fn plan_text(plan: &[CarePlanContact]) -> String {
    plan.iter().map(|p| format!("{}:{}", p.contact.code(), p.period_days)).collect::<Vec<_>>().join(";")
}

fn parse_plan(text: &str) -> Vec<CarePlanContact> {
    text.split(';')
        .filter_map(|item| {
            let (c, d) = item.split_once(':')?;
            Some(CarePlanContact {
                contact: c.parse::<ContactKind>().ok()?,
                period_days: d.parse().ok().filter(|d| *d > 0)?,
            })
        })
        .collect()
}

fn put_catalogue(doc: &mut AutoCommit, prefix: &str, entries: &[CatalogueEntry]) -> Result<()> {
    for (n, e) in entries.iter().enumerate() {
        put_entity(
            doc,
            &format!("{prefix}{}", e.code),
            &vec![("name_zh", s(&e.name_zh)), ("name_en", s(&e.name_en)), ("order", i(n as i64))],
        )?;
    }
    Ok(())
}

/// Deletes the entries under `prefix` whose code is not in `keep`: a code removed from a catalogue leaves the
/// document too, or reading the configuration back would bring it back.
fn remove_absent<'a>(doc: &mut AutoCommit, prefix: &str, keep: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let keep: std::collections::HashSet<&str> = keep.into_iter().collect();
    let gone: Vec<String> = entities(doc, prefix)
        .filter(|(code, _)| !keep.contains(code.as_str()))
        .map(|(code, _)| format!("{prefix}{code}"))
        .collect();
    for key in gone {
        doc.delete(ROOT, key.as_str()).map_err(|e| Error::document("community", e))?;
    }
    Ok(())
}

fn ordered(prefix: &str, doc: &AutoCommit) -> Vec<(String, Entity)> {
    let mut items: Vec<(String, Entity)> = entities(doc, prefix).collect();
    items.sort_by_key(|(code, e)| (e.opt_i64("order").unwrap_or(i64::MAX), code.clone()));
    items
}

fn read_catalogue(doc: &AutoCommit, prefix: &str) -> Vec<CatalogueEntry> {
    ordered(prefix, doc)
        .into_iter()
        .map(|(code, e)| CatalogueEntry { code, name_zh: e.str("name_zh"), name_en: e.str("name_en") })
        .collect()
}

/// Writes the whole configuration into the community document (only differences become operations); the
/// entries of a catalogue that `settings` no longer lists are deleted.
pub fn write_settings(doc: &mut AutoCommit, settings: &CommunitySettings) -> Result<()> {
    let err = |e: automerge::AutomergeError| Error::document("community", e);
    remove_absent(doc, CATEGORY_PREFIX, settings.categories.iter().map(|c| c.code.as_str()))?;
    remove_absent(doc, INCIDENT_CATEGORY_PREFIX, settings.incident_categories.iter().map(|e| e.code.as_str()))?;
    remove_absent(doc, VISIT_SERVICE_PREFIX, settings.visit_services.iter().map(|e| e.code.as_str()))?;
    remove_absent(doc, SERVICE_PREFIX, settings.service_catalogue.iter().map(|o| o.code.as_str()))?;
    remove_absent(doc, SHOP_ITEM_PREFIX, settings.shop_items.iter().map(|i| i.code.as_str()))?;
    remove_absent(doc, SURVEY_ITEM_PREFIX, settings.survey_items.iter().map(|e| e.code.as_str()))?;
    remove_absent(doc, DEPARTMENT_ASPECT_PREFIX, settings.department_aspects.iter().map(|e| e.code.as_str()))?;
    doc.put(ROOT, NAME_KEY, settings.name.as_str()).map_err(err)?;
    doc.put(ROOT, TIMEZONE_KEY, settings.timezone.as_str()).map_err(err)?;
    doc.put(ROOT, ROTATION_DAYS_KEY, i64::from(settings.rotation_days)).map_err(err)?;
    for (n, c) in settings.categories.iter().enumerate() {
        put_entity(
            doc,
            &format!("{CATEGORY_PREFIX}{}", c.code),
            &vec![
                ("name_zh", s(&c.name_zh)),
                ("name_en", s(&c.name_en)),
                ("plan", s(&plan_text(&c.plan))),
                ("order", i(n as i64)),
            ],
        )?;
    }
    put_catalogue(doc, INCIDENT_CATEGORY_PREFIX, &settings.incident_categories)?;
    put_catalogue(doc, VISIT_SERVICE_PREFIX, &settings.visit_services)?;
    put_catalogue(doc, SURVEY_ITEM_PREFIX, &settings.survey_items)?;
    put_catalogue(doc, DEPARTMENT_ASPECT_PREFIX, &settings.department_aspects)?;
    doc.put(ROOT, ORDER_DUE_DAYS_KEY, i64::from(settings.order_due_days)).map_err(err)?;
    for (n, o) in settings.service_catalogue.iter().enumerate() {
        put_entity(
            doc,
            &format!("{SERVICE_PREFIX}{}", o.code),
            &vec![
                ("name_zh", s(&o.name_zh)),
                ("name_en", s(&o.name_en)),
                ("points", i(o.points.into())),
                ("minutes", i(o.minutes.into())),
                ("order", i(n as i64)),
            ],
        )?;
    }
    for (n, item) in settings.shop_items.iter().enumerate() {
        put_entity(
            doc,
            &format!("{SHOP_ITEM_PREFIX}{}", item.code),
            &vec![
                ("name_zh", s(&item.name_zh)),
                ("name_en", s(&item.name_en)),
                ("price_points", i(item.price_points.into())),
                ("stock", i(item.stock.into())),
                ("order", i(n as i64)),
            ],
        )?;
    }
    let d = &settings.deadlines;
    put_entity(
        doc,
        DEADLINES_KEY,
        &vec![
            ("urgent_ack_minutes", i(d.urgent_ack_minutes.into())),
            ("committee_review_minutes", i(d.committee_review_minutes.into())),
            ("station_verify_minutes", i(d.station_verify_minutes.into())),
            ("resolve_minutes", i(d.resolve_minutes.into())),
        ],
    )?;
    Ok(())
}

/// Reads the configuration back; absent parts fall back to the defaults.
pub fn read_settings(doc: &AutoCommit) -> CommunitySettings {
    let root = Entity::read(doc, &ROOT);
    let community_id = super::scope_of(doc).map(|id| id.community).unwrap_or_default();
    let mut out = CommunitySettings::defaults(
        &community_id,
        &root.str(NAME_KEY),
        &root.opt_str(TIMEZONE_KEY).unwrap_or_else(|| crate::model::DEFAULT_TIME_ZONE.into()),
    );
    let categories: Vec<SpecialCareCategory> = ordered(CATEGORY_PREFIX, doc)
        .into_iter()
        .map(|(code, e)| SpecialCareCategory {
            code,
            name_zh: e.str("name_zh"),
            name_en: e.str("name_en"),
            plan: parse_plan(&e.str("plan")),
        })
        .collect();
    if !categories.is_empty() {
        out.categories = categories;
    }
    let incident_categories = read_catalogue(doc, INCIDENT_CATEGORY_PREFIX);
    if !incident_categories.is_empty() {
        out.incident_categories = incident_categories;
    }
    let visit_services = read_catalogue(doc, VISIT_SERVICE_PREFIX);
    if !visit_services.is_empty() {
        out.visit_services = visit_services;
    }
    let survey_items = read_catalogue(doc, SURVEY_ITEM_PREFIX);
    if !survey_items.is_empty() {
        out.survey_items = survey_items;
    }
    let department_aspects = read_catalogue(doc, DEPARTMENT_ASPECT_PREFIX);
    if !department_aspects.is_empty() {
        out.department_aspects = department_aspects;
    }
    let count = |e: &Entity, k: &str| e.opt_i64(k).and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    let services: Vec<ServiceOffer> = ordered(SERVICE_PREFIX, doc)
        .into_iter()
        .map(|(code, e)| ServiceOffer {
            code,
            name_zh: e.str("name_zh"),
            name_en: e.str("name_en"),
            points: count(&e, "points"),
            minutes: count(&e, "minutes"),
        })
        .collect();
    if !services.is_empty() {
        out.service_catalogue = services;
    }
    let items: Vec<ShopItem> = ordered(SHOP_ITEM_PREFIX, doc)
        .into_iter()
        .map(|(code, e)| ShopItem {
            code,
            name_zh: e.str("name_zh"),
            name_en: e.str("name_en"),
            price_points: count(&e, "price_points"),
            stock: count(&e, "stock"),
        })
        .collect();
    if !items.is_empty() {
        out.shop_items = items;
    }
    if let Some(days) = root.opt_i64(ORDER_DUE_DAYS_KEY).and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0) {
        out.order_due_days = days;
    }
    if let Some(d) = get_entity(doc, DEADLINES_KEY) {
        let get = |k: &str, dflt: u32| d.opt_i64(k).and_then(|v| u32::try_from(v).ok()).unwrap_or(dflt);
        let base = DeadlinePolicy::default();
        out.deadlines = DeadlinePolicy {
            urgent_ack_minutes: get("urgent_ack_minutes", base.urgent_ack_minutes),
            committee_review_minutes: get("committee_review_minutes", base.committee_review_minutes),
            station_verify_minutes: get("station_verify_minutes", base.station_verify_minutes),
            resolve_minutes: get("resolve_minutes", base.resolve_minutes),
        };
    }
    if let Some(r) = root.opt_i64(ROTATION_DAYS_KEY).and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0) {
        out.rotation_days = r;
    }
    out
}

/// The configuration's revision ([`SETTINGS_REVISION_KEY`]); 0 when it was never written so.
pub fn settings_revision(doc: &AutoCommit) -> u64 {
    Entity::read(doc, &ROOT).opt_i64(SETTINGS_REVISION_KEY).and_then(|r| u64::try_from(r).ok()).unwrap_or(0)
}

/// Sets the configuration's revision.
pub fn put_settings_revision(doc: &mut AutoCommit, revision: u64) -> Result<()> {
    let revision = i64::try_from(revision).map_err(|_| Error::invalid("revision", "too large"))?;
    doc.put(ROOT, SETTINGS_REVISION_KEY, revision).map_err(|e| Error::document("community", e))
}

/// Registers a grid in the community document.
pub fn put_grid(doc: &mut AutoCommit, code: &str, name: &str) -> Result<bool> {
    put_entity(doc, &format!("{GRID_PREFIX}{code}"), &vec![("name", s(name))])
}

/// The grid codes registered in the community document.
pub fn grids(doc: &AutoCommit) -> Vec<String> {
    entities(doc, GRID_PREFIX).map(|(code, _)| code).collect()
}

/// True when `doc` has a root `name` (the document has been written at least once).
pub fn is_initialised(doc: &AutoCommit) -> bool {
    matches!(doc.get(ROOT, NAME_KEY), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{new_document, DocId};

    #[test]
    fn settings_round_trip_through_the_document() {
        let mut settings = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        settings.categories[0].plan[0].period_days = 2;
        settings.rotation_days = 45;
        settings.service_catalogue[0].points = 25;
        settings.shop_items[1].stock = 7;
        settings.order_due_days = 5;
        settings.survey_items[0].name_en = "Clean streets".into();
        settings.department_aspects.truncate(8);
        let mut doc = new_document(&DocId::community("c1"), &automerge::ActorId::random()).expect("doc");
        write_settings(&mut doc, &settings).expect("write");
        put_grid(&mut doc, "G01", "一网格").expect("grid");
        let back = read_settings(&doc);
        assert_eq!(back, settings);
        assert_eq!(grids(&doc), vec!["G01"]);
    }

    /// Entries removed from a catalogue leave the document; the rest, the grids and the revision stay.
    #[test]
    fn entries_removed_from_a_catalogue_leave_the_document() {
        let settings = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        let mut doc = new_document(&DocId::community("c1"), &automerge::ActorId::random()).expect("doc");
        write_settings(&mut doc, &settings).expect("write");
        put_grid(&mut doc, "G01", "一网格").expect("grid");
        put_settings_revision(&mut doc, 3).expect("revision");
        let mut fewer = settings.clone();
        fewer.categories.retain(|c| c.code != "disabled");
        fewer.incident_categories.truncate(2);
        fewer.visit_services.remove(0);
        fewer.service_catalogue.retain(|o| o.code != "haircut");
        fewer.shop_items = vec![fewer.shop_items[2].clone()];
        fewer.survey_items.remove(1);
        fewer.department_aspects.truncate(3);
        write_settings(&mut doc, &fewer).expect("write fewer");
        assert_eq!(read_settings(&doc), fewer);
        assert!(get_entity(&doc, &format!("{SERVICE_PREFIX}haircut")).is_none());
        assert!(get_entity(&doc, &format!("{SHOP_ITEM_PREFIX}rice_5kg")).is_none());
        assert!(get_entity(&doc, &format!("{CATEGORY_PREFIX}disabled")).is_none());
        assert!(get_entity(&doc, &format!("{SURVEY_ITEM_PREFIX}public_order")).is_none());
        assert!(get_entity(&doc, &format!("{DEPARTMENT_ASPECT_PREFIX}overall")).is_none());
        assert_eq!(grids(&doc), vec!["G01"]);
        assert_eq!(settings_revision(&doc), 3);
        // Written again, an entry comes back.
        write_settings(&mut doc, &settings).expect("write all");
        assert_eq!(read_settings(&doc), settings);
    }
}
