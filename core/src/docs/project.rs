//! The service-project document (项目化), one per project, id `project:<community>:<uuid>` — a community-level
//! document with no grid: every role of the community but volunteers reads it. Its root holds
//!
//! - `project`: the fields as one JSON scalar, written once by the creator (committee or station);
//! - `status/<event uuid>`: one entity map per status event (planned, active, done), by the committee or the
//!   station; the status is their replay (`project.rs`);
//! - `rating/<household>/<uuid>`: one entity map per resident's rating (民事民评), recorded after the project
//!   is done by a grid role for a household of its grids (or by the committee or the station).
//!
//! Entries are written once under unique root keys, so concurrent writes from several devices all survive a
//! merge and nothing needs a shared container. The household of a rating is in its key, so the server checks
//! the household (and its grid's roster) from what the entry claims.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{entities, entity_records, get_entity, i, label, ne, put_entity, s, value_ops, Claims, Record, RecordKind};
use crate::error::{Error, Result};
use crate::model::{ProjectFields, ProjectRatingEntry, ProjectStatusEvent, DAY_FORMAT};

/// Root key of the project's fields.
pub const FIELDS_KEY: &str = "project";
/// Root-key prefix of status events.
pub const STATUS_PREFIX: &str = "status/";
/// Root-key prefix of ratings.
pub const RATING_PREFIX: &str = "rating/";
/// Most status events one project may hold (a project's life is a handful).
pub const MAX_STATUS_EVENTS: usize = 200;
/// Most ratings one project may hold: a community's households, each rating a few times.
pub const MAX_RATINGS: usize = 20_000;

/// A project as read from its document.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The fields written by its creator.
    pub fields: ProjectFields,
    /// Status events, in root-key order (replay orders them by time).
    pub status_events: Vec<ProjectStatusEvent>,
    /// Residents' ratings, in root-key order.
    pub ratings: Vec<ProjectRatingEntry>,
}

/// The fields as stored (short keys, empty values left out).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FieldsRecord {
    id: String,
    title: String,
    category: String,
    org: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    by: String,
    device: String,
    role: String,
    at: String,
}

impl From<&ProjectFields> for FieldsRecord {
    fn from(f: &ProjectFields) -> Self {
        FieldsRecord {
            id: f.project_id.clone(),
            title: f.title.clone(),
            category: f.category.clone(),
            org: f.organisation.clone(),
            budget: f.budget_yuan,
            needs: f.needs.clone(),
            from: f.from.map(|d| d.to_string()),
            to: f.to.map(|d| d.to_string()),
            by: f.created_by.clone(),
            device: f.device.clone(),
            role: f.role.clone(),
            at: f.at.to_rfc3339(),
        }
    }
}

impl TryFrom<FieldsRecord> for ProjectFields {
    type Error = Error;

    fn try_from(r: FieldsRecord) -> Result<Self> {
        let bad = |why: &str| Error::document(FIELDS_KEY, why);
        let day = |d: Option<String>| -> Result<Option<NaiveDate>> {
            d.map(|d| NaiveDate::parse_from_str(&d, DAY_FORMAT).map_err(|_| bad("bad day"))).transpose()
        };
        Ok(ProjectFields {
            project_id: r.id,
            title: r.title,
            category: r.category,
            organisation: r.org,
            budget_yuan: r.budget,
            needs: r.needs,
            from: day(r.from)?,
            to: day(r.to)?,
            created_by: r.by,
            device: r.device,
            role: r.role,
            at: DateTime::parse_from_rfc3339(&r.at).map_err(|_| bad("bad time"))?,
        })
    }
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::document(FIELDS_KEY, e)
}

/// Root key of a status event.
pub fn status_key(event_id: &str) -> String {
    format!("{STATUS_PREFIX}{event_id}")
}

/// Root key of a rating.
pub fn rating_key(household: &str, rating_id: &str) -> String {
    format!("{RATING_PREFIX}{household}/{rating_id}")
}

/// Writes a new project's fields. Once, on a new document, in its first change.
pub fn create(doc: &mut AutoCommit, fields: &ProjectFields) -> Result<()> {
    if doc.get(ROOT, FIELDS_KEY).map_err(err)?.is_some() {
        return Err(err("the project already exists"));
    }
    let json = serde_json::to_string(&FieldsRecord::from(fields)).map_err(err)?;
    doc.put(ROOT, FIELDS_KEY, json).map_err(err)?;
    Ok(())
}

fn count(doc: &AutoCommit, prefix: &str) -> usize {
    doc.map_range(ROOT, prefix.to_string()..).take_while(|item| item.key.starts_with(prefix)).count()
}

/// Adds a status event; refused once the project holds [`MAX_STATUS_EVENTS`].
pub fn add_status(doc: &mut AutoCommit, e: &ProjectStatusEvent) -> Result<()> {
    if count(doc, STATUS_PREFIX) >= MAX_STATUS_EVENTS {
        return Err(Error::invalid("status", format!("a project holds at most {MAX_STATUS_EVENTS} status events")));
    }
    let key = status_key(&e.event_id);
    if get_entity(doc, &key).is_some() {
        return Err(err("the status event exists"));
    }
    put_entity(
        doc,
        &key,
        &vec![
            ("status", s(&e.status)),
            ("note", ne(&e.note)),
            ("actor", s(&e.actor)),
            ("device", s(&e.device)),
            ("role", s(&e.role)),
            ("at", s(&e.at)),
        ],
    )?;
    Ok(())
}

/// Adds a rating; refused once the project holds [`MAX_RATINGS`].
pub fn add_rating(doc: &mut AutoCommit, r: &ProjectRatingEntry) -> Result<()> {
    if count(doc, RATING_PREFIX) >= MAX_RATINGS {
        return Err(Error::invalid("rating", format!("a project holds at most {MAX_RATINGS} ratings")));
    }
    let key = rating_key(&r.household, &r.rating_id);
    if get_entity(doc, &key).is_some() {
        return Err(err("the rating exists"));
    }
    put_entity(
        doc,
        &key,
        &vec![
            ("household", s(&r.household)),
            ("grid", s(&r.grid)),
            ("building", s(&r.building)),
            ("rating", i(r.rating)),
            ("note", ne(&r.note)),
            ("actor", s(&r.actor)),
            ("device", s(&r.device)),
            ("role", s(&r.role)),
            ("at", s(&r.at)),
        ],
    )?;
    Ok(())
}

/// The status events, in root-key order.
pub fn status_events(doc: &AutoCommit) -> Vec<ProjectStatusEvent> {
    entities(doc, STATUS_PREFIX)
        .map(|(id, e)| ProjectStatusEvent {
            event_id: id,
            status: e.str("status"),
            note: e.str("note"),
            actor: e.str("actor"),
            device: e.str("device"),
            role: e.str("role"),
            at: e.str("at"),
        })
        .collect()
}

/// The household and id in a rating's key (`<household>/<uuid>`).
fn split_rating_key(rest: &str) -> (&str, &str) {
    rest.split_once('/').unwrap_or((rest, ""))
}

/// The ratings, in root-key order. The household is the key's; an entry whose own household field disagrees
/// with its key reads with no score, so it counts as invalid (kept, never counted).
pub fn ratings(doc: &AutoCommit) -> Vec<ProjectRatingEntry> {
    entities(doc, RATING_PREFIX)
        .map(|(rest, e)| {
            let (household, id) = split_rating_key(&rest);
            let agrees = e.str("household") == household;
            ProjectRatingEntry {
                rating_id: id.to_string(),
                household: household.to_string(),
                grid: e.str("grid"),
                building: e.str("building"),
                rating: if agrees { e.opt_i64("rating").unwrap_or(0) } else { 0 },
                note: e.str("note"),
                actor: e.str("actor"),
                device: e.str("device"),
                role: e.str("role"),
                at: e.str("at"),
            }
        })
        .collect()
}

/// Reads the project; an error when its fields are missing or do not parse.
pub fn read(doc: &AutoCommit) -> Result<Project> {
    let fields: FieldsRecord = match doc.get(ROOT, FIELDS_KEY).map_err(err)? {
        Some((Value::Scalar(v), _)) => match v.as_ref() {
            ScalarValue::Str(text) => serde_json::from_str(text).map_err(|_| err("the fields do not parse"))?,
            _ => return Err(err("no project fields")),
        },
        _ => return Err(err("no project fields")),
    };
    Ok(Project { fields: fields.try_into()?, status_events: status_events(doc), ratings: ratings(doc) })
}

/// The fields, every status event and every rating as records, with what each claims (the server's checks):
/// the fields and status events their author, device, role and time; a rating also its grid and the household
/// of its key.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let mut out = Vec::new();
    if let Ok(Some((value, id))) = doc.get(ROOT, FIELDS_KEY) {
        let conflict = doc.get_all(ROOT, FIELDS_KEY).map(|v| v.len() > 1).unwrap_or(false);
        let f: FieldsRecord = match &value {
            Value::Scalar(v) => v.as_str().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default(),
            Value::Object(_) => FieldsRecord::default(),
        };
        out.push(Record {
            kind: RecordKind::ProjectFields,
            key: FIELDS_KEY.into(),
            label: "the project's fields".into(),
            ops: value_ops(doc, &ROOT, FIELDS_KEY, conflict, id),
            claims: Claims::of_act(f.by, f.device, f.role, f.at),
        });
    }
    out.extend(entity_records(doc, STATUS_PREFIX, RecordKind::ProjectStatus, |id, e| {
        (label("status event", id), Claims::of_act(e.str("actor"), e.str("device"), e.str("role"), e.str("at")))
    }));
    out.extend(entity_records(doc, RATING_PREFIX, RecordKind::ProjectRating, |rest, e| {
        let (household, id) = split_rating_key(rest);
        let household = if e.str("household") == household { household.to_string() } else { String::new() };
        let claims = Claims {
            grid: Some(e.str("grid")),
            household: Some(household),
            ..Claims::of_act(e.str("actor"), e.str("device"), e.str("role"), e.str("at"))
        };
        (label("rating", id), claims)
    }));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::docs::{new_document, DocId, DocKind};
    use crate::project::{self, ProjectStatus};

    pub(crate) const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445599";

    pub(crate) fn fields() -> ProjectFields {
        ProjectFields {
            project_id: ID.into(),
            title: "长者助餐".into(),
            category: "elderly_care".into(),
            organisation: "阳光社工中心".into(),
            budget_yuan: Some(50_000),
            needs: vec!["meal_delivery".into(), "companionship".into()],
            from: NaiveDate::from_ymd_opt(2026, 12, 1),
            to: NaiveDate::from_ymd_opt(2027, 2, 28),
            created_by: "li".into(),
            device: "device-li".into(),
            role: "committee".into(),
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("t"),
        }
    }

    pub(crate) fn status(id: &str, to: &str, at: &str) -> ProjectStatusEvent {
        ProjectStatusEvent {
            event_id: id.into(),
            status: to.into(),
            note: String::new(),
            actor: "li".into(),
            device: "device-li".into(),
            role: "committee".into(),
            at: at.into(),
        }
    }

    pub(crate) fn rating(id: &str, household: &str, score: i64, at: &str) -> ProjectRatingEntry {
        ProjectRatingEntry {
            rating_id: id.into(),
            household: household.into(),
            grid: "G01".into(),
            building: "1".into(),
            rating: score,
            note: "好".into(),
            actor: "wang".into(),
            device: "device-wang".into(),
            role: "grid_leader".into(),
            at: at.into(),
        }
    }

    pub(crate) fn created() -> AutoCommit {
        let id = DocId::project("c1", ID);
        let mut doc = new_document(&id, &automerge::ActorId::random()).expect("doc");
        create(&mut doc, &fields()).expect("create");
        doc.commit();
        doc
    }

    #[test]
    fn fields_status_and_ratings_round_trip() {
        let mut doc = created();
        assert!(create(&mut doc, &fields()).is_err(), "created once");
        add_status(&mut doc, &status("e1", "active", "2026-11-25T09:00:00+08:00")).expect("active");
        add_status(&mut doc, &status("e2", "done", "2026-11-26T09:00:00+08:00")).expect("done");
        assert!(add_status(&mut doc, &status("e2", "done", "2026-11-26T09:00:00+08:00")).is_err(), "once");
        add_rating(&mut doc, &rating("r1", "H1", 4, "2026-11-27T09:00:00+08:00")).expect("rating");
        let p = read(&doc).expect("read");
        assert_eq!(p.fields, fields());
        assert_eq!(p.status_events.len(), 2);
        assert_eq!(p.ratings, vec![rating("r1", "H1", 4, "2026-11-27T09:00:00+08:00")]);
        let d = project::replay(&p.status_events);
        assert_eq!(d.status, ProjectStatus::Done);
        assert_eq!(project::ratings(&p.ratings, d.status).average, Some(4.0));
    }

    #[test]
    fn a_rating_whose_household_disagrees_with_its_key_counts_as_invalid() {
        let mut doc = created();
        add_rating(&mut doc, &rating("r1", "H1", 4, "2026-11-27T09:00:00+08:00")).expect("rating");
        put_entity(&mut doc, &rating_key("H1", "r1"), &vec![("household", s("H2"))]).expect("edit");
        let r = ratings(&doc);
        assert_eq!((r[0].household.as_str(), r[0].rating), ("H1", 0));
        let found = crate::docs::records(DocKind::Project, &doc);
        let claimed = found.iter().find(|r| r.kind == RecordKind::ProjectRating).expect("rating record");
        assert_eq!(claimed.claims.household.as_deref(), Some(""));
    }

    #[test]
    fn records_claim_what_the_server_checks() {
        let mut doc = created();
        add_status(&mut doc, &status("e1", "active", "2026-11-25T09:00:00+08:00")).expect("active");
        add_rating(&mut doc, &rating("r1", "H1", 4, "2026-11-27T09:00:00+08:00")).expect("rating");
        let found = crate::docs::records(DocKind::Project, &doc);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].kind, RecordKind::ProjectFields);
        assert_eq!(found[0].claims.role.as_deref(), Some("committee"));
        assert_eq!(found[0].claims.user.as_deref(), Some("li"));
        assert_eq!(found[1].kind, RecordKind::ProjectStatus);
        assert_eq!(found[1].claims.device.as_deref(), Some("device-li"));
        let r = &found[2];
        assert_eq!(r.kind, RecordKind::ProjectRating);
        assert_eq!((r.claims.grid.as_deref(), r.claims.household.as_deref()), (Some("G01"), Some("H1")));
        assert_eq!(r.claims.role.as_deref(), Some("grid_leader"));
        assert!(found.iter().all(|r| r.kind.append_only()));
        assert!(found.iter().all(|r| !r.label.contains("长者")), "labels carry no content");
    }

    #[test]
    fn status_events_are_bounded() {
        let mut doc = created();
        for n in 0..MAX_STATUS_EVENTS {
            add_status(&mut doc, &status(&format!("e{n:04}"), "active", "2026-11-25T09:00:00+08:00")).expect("in");
        }
        let refused = add_status(&mut doc, &status("z", "active", "2026-11-25T09:00:00+08:00")).expect_err("bound");
        assert_eq!(refused.code(), crate::ErrorCode::InvalidInput);
    }
}
