//! The Automerge documents (PRODUCT.md §3): ids that carry their scope, and the small vocabulary every
//! document type uses to keep entities as maps of scalar fields.
//!
//! Every document keeps its entities as maps under unique root keys (`household/H1`, `checkin/<uuid>`), never
//! under a shared container created at start-up: two phones that create the same day's check-in log offline
//! would otherwise each create their own container and one would hide the other after a merge.

pub mod building;
pub mod checkin_log;
pub mod community;
pub mod department;
mod event_list;
pub mod incident;
pub mod points;
pub mod project;
pub mod roster;
pub mod scope;
pub mod service_order;
pub mod survey;
pub mod visit_log;

use std::collections::HashMap;
use std::fmt;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};

use crate::codes::coded_enum;
use crate::error::{Error, Result};

/// Schema version written into every document's root (`schema`).
pub const SCHEMA_VERSION: i64 = 1;

coded_enum! {
    #[codes(field = "kind", name = "document kind", list = true)]
    /// Which type of document.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DocKind {
        /// One per community: configuration.
        Community = "community",
        /// One per grid: buildings, households, residents.
        Roster = "roster",
        /// One per grid and day: check-ins.
        CheckInLog = "checkins",
        /// One per grid and month: home visits.
        VisitLog = "visits",
        /// One per incident.
        Incident = "incident",
        /// One per service order (服务订单): the request, its volunteer and its workflow events.
        ServiceOrder = "order",
        /// One per community: the points ledger of its volunteers (credits, redemptions, the server's decisions).
        Points = "points",
        /// One per service project (项目化): its fields, status events and residents' ratings (community-level).
        Project = "project",
        /// One per grid and year: the residents' survey of the community (双评议, 居民满意度测评).
        Survey = "survey",
        /// One per community and year: the community's ratings of departments (双评议, 部门评议).
        DepartmentRating = "departments",
        /// One per building of a grid: the server's projection of its households, residents and their recent
        /// check-ins and visits, the only view of the grid a building lead (楼栋长) receives.
        Building = "building",
    }
}

/// A document id. Its text form carries the scope — `roster:<community>:<grid>`,
/// `checkins:<community>:<grid>:<YYYY-MM-DD>`, `visits:<community>:<grid>:<YYYY-MM>`,
/// `incident:<community>:<grid>:<uuid>`, `order:<community>:<grid>:<uuid>`, `community:<community>`,
/// `points:<community>`, `project:<community>:<uuid>`, `survey:<community>:<grid>:<YYYY>`,
/// `departments:<community>:<YYYY>` — so the server can check a device's scope
/// from the id alone, and the document's own root fields must agree with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId {
    /// Document type.
    pub kind: DocKind,
    /// Community id.
    pub community: String,
    /// Grid code (absent for the community's own documents: configuration, points, department ratings).
    pub grid: Option<String>,
    /// Day, month or incident id, for kinds that have one.
    pub key: Option<String>,
}

/// The key of a building inside ids: `b` and the first 16 hex characters of SHA-256 of the building's name
/// (names may be Chinese; ids are ASCII).
pub fn building_key(building: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(building.as_bytes());
    format!("b{}", &hex::encode(digest)[..16])
}

/// True when `s` has the form of a [`building_key`].
pub fn valid_building_key(s: &str) -> bool {
    s.len() == 17 && s.starts_with('b') && s[1..].bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a code used inside ids (grid and household codes): 1–32 of `[A-Za-z0-9_-]`.
pub fn valid_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_community(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl DocId {
    /// The community document.
    pub fn community(community: &str) -> DocId {
        DocId { kind: DocKind::Community, community: community.into(), grid: None, key: None }
    }
    /// A grid's roster.
    pub fn roster(community: &str, grid: &str) -> DocId {
        DocId { kind: DocKind::Roster, community: community.into(), grid: Some(grid.into()), key: None }
    }
    /// A grid's check-in log of one day.
    pub fn check_in_log(community: &str, grid: &str, day: chrono::NaiveDate) -> DocId {
        let key = Some(day.to_string());
        DocId { kind: DocKind::CheckInLog, community: community.into(), grid: Some(grid.into()), key }
    }
    /// The check-in log of one building of a grid and one day (`checkins:<community>:<grid>:<day>:<building
    /// key>`), where a building lead records its check-ins; every device of the grid reads it.
    pub fn building_check_in_log(community: &str, grid: &str, day: chrono::NaiveDate, building_key: &str) -> DocId {
        let key = Some(format!("{day}:{building_key}"));
        DocId { kind: DocKind::CheckInLog, community: community.into(), grid: Some(grid.into()), key }
    }
    /// The server's projection of one building of a grid (`building:<community>:<grid>:<building key>`).
    pub fn building(community: &str, grid: &str, building_key: &str) -> DocId {
        DocId {
            kind: DocKind::Building,
            community: community.into(),
            grid: Some(grid.into()),
            key: Some(building_key.into()),
        }
    }
    /// The building key the id carries: a building's projection or a building-level check-in log.
    pub fn building_key(&self) -> Option<&str> {
        match self.kind {
            DocKind::Building => self.key.as_deref(),
            DocKind::CheckInLog => self.key.as_deref().and_then(|k| k.split_once(':')).map(|(_, b)| b),
            _ => None,
        }
    }
    /// The day of a check-in log (grid-level or building-level).
    pub fn day(&self) -> Option<chrono::NaiveDate> {
        if self.kind != DocKind::CheckInLog {
            return None;
        }
        let key = self.key.as_deref()?;
        let day = key.split_once(':').map_or(key, |(d, _)| d);
        chrono::NaiveDate::parse_from_str(day, crate::model::DAY_FORMAT).ok()
    }
    /// A grid's visit log of one month (`YYYY-MM`).
    pub fn visit_log(community: &str, grid: &str, month: &str) -> DocId {
        DocId { kind: DocKind::VisitLog, community: community.into(), grid: Some(grid.into()), key: Some(month.into()) }
    }
    /// An incident's document.
    pub fn incident(community: &str, grid: &str, incident_id: &str) -> DocId {
        DocId {
            kind: DocKind::Incident,
            community: community.into(),
            grid: Some(grid.into()),
            key: Some(incident_id.into()),
        }
    }

    /// A service order's document; its grid is the household's.
    pub fn service_order(community: &str, grid: &str, order_id: &str) -> DocId {
        DocId {
            kind: DocKind::ServiceOrder,
            community: community.into(),
            grid: Some(grid.into()),
            key: Some(order_id.into()),
        }
    }
    /// The community's points ledger.
    pub fn points(community: &str) -> DocId {
        DocId { kind: DocKind::Points, community: community.into(), grid: None, key: None }
    }

    /// A service project's document (community-level: no grid).
    pub fn project(community: &str, project_id: &str) -> DocId {
        DocId { kind: DocKind::Project, community: community.into(), grid: None, key: Some(project_id.into()) }
    }

    /// A grid's residents' survey of one year.
    pub fn survey(community: &str, grid: &str, year: u32) -> DocId {
        DocId {
            kind: DocKind::Survey,
            community: community.into(),
            grid: Some(grid.into()),
            key: Some(year.to_string()),
        }
    }
    /// The community's department ratings of one year.
    pub fn departments(community: &str, year: u32) -> DocId {
        DocId { kind: DocKind::DepartmentRating, community: community.into(), grid: None, key: Some(year.to_string()) }
    }

    /// The year of a survey or department-ratings document.
    pub fn year(&self) -> Option<u32> {
        match self.kind {
            DocKind::Survey | DocKind::DepartmentRating => self.key.as_deref().and_then(parse_year),
            _ => None,
        }
    }

    /// Parses and validates the text form.
    pub fn parse(s: &str) -> Result<DocId> {
        let bad = |why: &str| Error::invalid("doc_id", format!("{s:?}: {why}"));
        if s.len() > 200 {
            return Err(bad("too long"));
        }
        let parts: Vec<&str> = s.split(':').collect();
        let kind = parts[0].parse::<DocKind>().map_err(|_| bad("unknown document kind"))?;
        let (has_grid, has_key) = kind.layout();
        // A building-level check-in log carries the building key after its day.
        let building_log = kind == DocKind::CheckInLog && parts.len() == 5;
        if parts.len() != 2 + usize::from(has_grid) + usize::from(has_key) && !building_log {
            return Err(bad("wrong number of parts"));
        }
        if !valid_community(parts[1]) {
            return Err(bad("bad community id"));
        }
        let grid = has_grid.then(|| parts[2].to_string());
        if grid.as_deref().is_some_and(|g| !valid_code(g)) {
            return Err(bad("bad grid code"));
        }
        let key =
            if building_log { Some(parts[3..].join(":")) } else { has_key.then(|| parts[parts.len() - 1].to_string()) };
        let key_ok = match (kind, key.as_deref()) {
            (DocKind::CheckInLog, Some(k)) => {
                let (day, building) = k.split_once(':').map_or((k, None), |(d, b)| (d, Some(b)));
                chrono::NaiveDate::parse_from_str(day, crate::model::DAY_FORMAT).is_ok()
                    && building.is_none_or(valid_building_key)
            }
            (DocKind::Building, Some(k)) => valid_building_key(k),
            (DocKind::VisitLog, Some(k)) => {
                chrono::NaiveDate::parse_from_str(&format!("{k}-01"), crate::model::DAY_FORMAT).is_ok() && k.len() == 7
            }
            (DocKind::Incident | DocKind::ServiceOrder | DocKind::Project, Some(k)) => uuid::Uuid::parse_str(k).is_ok(),
            (DocKind::Survey | DocKind::DepartmentRating, Some(k)) => parse_year(k).is_some(),
            (_, None) => true,
            _ => false,
        };
        if !key_ok {
            return Err(bad("bad key"));
        }
        Ok(DocId { kind, community: parts[1].into(), grid, key })
    }
}

impl DocKind {
    /// True for documents the server alone writes, from its own stored sources (a building's projection):
    /// no device writes them, and no device hands them to another (a bundle leaves them out).
    pub fn server_written(&self) -> bool {
        *self == DocKind::Building
    }

    /// Which parts an id of this kind has after its community: (a grid, a key).
    fn layout(&self) -> (bool, bool) {
        match self {
            DocKind::Community | DocKind::Points => (false, false),
            DocKind::Roster => (true, false),
            DocKind::DepartmentRating | DocKind::Project => (false, true),
            DocKind::CheckInLog
            | DocKind::VisitLog
            | DocKind::Incident
            | DocKind::ServiceOrder
            | DocKind::Survey
            | DocKind::Building => (true, true),
        }
    }
}

/// A year as ids write it: four digits, within `evaluation`'s bounds.
fn parse_year(text: &str) -> Option<u32> {
    let year = text.parse::<u32>().ok().filter(|_| text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()))?;
    crate::evaluation::check_year(year).is_ok().then_some(year)
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.code(), self.community)?;
        if let Some(g) = &self.grid {
            write!(f, ":{g}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ":{k}")?;
        }
        Ok(())
    }
}

/// Root key of the document's scope: its id as text (`DocId`'s display form).
pub const SCOPE_KEY: &str = "scope";
/// Root key of the schema version every document is written with.
pub const SCHEMA_KEY: &str = "schema";

/// A new, empty document of `id`, with its scope written into the root, and its schema version when it is
/// past the first (an absent `schema` reads 1): every new document — each incident, each day's check-in
/// log — pays for these operations.
pub fn new_document(id: &DocId, actor: &automerge::ActorId) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    let put = |doc: &mut AutoCommit, k: &str, v: ScalarValue| {
        doc.put(ROOT, k, v).map_err(|e| Error::document(&id.to_string(), e))
    };
    if SCHEMA_VERSION > 1 {
        put(&mut doc, SCHEMA_KEY, ScalarValue::Int(SCHEMA_VERSION))?;
    }
    put(&mut doc, SCOPE_KEY, id.to_string().into())?;
    Ok(doc)
}

/// The text of a root scalar string, if there is one.
fn root_str(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(v), _))) => v.as_str().map(str::to_string),
        _ => None,
    }
}

/// The scope a document's root claims, if it claims one.
pub fn scope_of(doc: &AutoCommit) -> Option<DocId> {
    root_str(doc, SCOPE_KEY).and_then(|s| DocId::parse(&s).ok())
}

/// Checks that a document's root scope agrees with its id (a merged-in document claiming another scope is
/// refused). Runs on every sync message: it reads the two root keys it needs, and walks the root only for a
/// document that claims no scope (which then must hold no root fields at all).
pub fn check_scope(id: &DocId, doc: &AutoCommit) -> Result<()> {
    let ok = match root_str(doc, SCOPE_KEY) {
        Some(scope) => scope == id.to_string(),
        None => Entity::read(doc, &ROOT).fields.is_empty(),
    };
    if !ok {
        return Err(Error::document(&id.to_string(), "the scope does not match the document id"));
    }
    match doc.get(ROOT, SCHEMA_KEY) {
        Ok(Some((Value::Scalar(v), _))) => match v.as_ref() {
            ScalarValue::Int(v) if *v > SCHEMA_VERSION => {
                Err(Error::document(&id.to_string(), format!("schema {v} is newer than this build")))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The scalar fields of one entity map.
#[derive(Debug, Clone, Default)]
pub struct Entity {
    /// Field name → value.
    pub fields: HashMap<String, ScalarValue>,
}

impl Entity {
    /// Reads the scalar fields of the map `obj` (nested objects are skipped).
    pub fn read(doc: &AutoCommit, obj: &automerge::ObjId) -> Entity {
        let fields = doc
            .map_range(obj, ..)
            .filter_map(|item| match item.value.into_value() {
                Value::Scalar(s) => Some((item.key.into_owned(), s.into_owned())),
                Value::Object(_) => None,
            })
            .collect();
        Entity { fields }
    }

    /// A string field, or `None` when absent or of another type.
    pub fn opt_str(&self, k: &str) -> Option<String> {
        match self.fields.get(k) {
            Some(ScalarValue::Str(s)) => Some(s.to_string()),
            _ => None,
        }
    }
    /// A string field, empty when absent.
    pub fn str(&self, k: &str) -> String {
        self.opt_str(k).unwrap_or_default()
    }
    /// An integer field.
    pub fn opt_i64(&self, k: &str) -> Option<i64> {
        match self.fields.get(k) {
            Some(ScalarValue::Int(i)) => Some(*i),
            Some(ScalarValue::Uint(u)) => i64::try_from(*u).ok(),
            _ => None,
        }
    }
    /// A float field.
    pub fn opt_f64(&self, k: &str) -> Option<f64> {
        match self.fields.get(k) {
            Some(ScalarValue::F64(f)) => Some(*f),
            Some(ScalarValue::Int(i)) => Some(*i as f64),
            _ => None,
        }
    }
    /// A boolean field, false when absent.
    pub fn bool(&self, k: &str) -> bool {
        matches!(self.fields.get(k), Some(ScalarValue::Boolean(true)))
    }
    /// A list of strings stored as one `;`-joined string (codes and hashes never contain `;`), at most
    /// [`MAX_LIST_ITEMS`] of them: a field of a peer's document is read within that bound.
    pub fn list(&self, k: &str) -> Vec<String> {
        self.str(k).split(';').filter(|t| !t.is_empty()).take(MAX_LIST_ITEMS).map(str::to_string).collect()
    }
}

/// Most items read from one list field of an entity (photos, tags, residents, services, needs): far more
/// than any honest record holds (a record has at most ten photos), so a hostile field of a million `;`
/// allocates no more than this many.
pub const MAX_LIST_ITEMS: usize = 200;

/// Splits a `;`-joined list, dropping empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(';').filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// Field values for an entity: name → scalar. `None` values are left out (absent field).
pub type Fields<'a> = Vec<(&'a str, Option<ScalarValue>)>;

/// Creates or updates the entity map at root key `key`, writing only the fields whose values differ.
/// Returns whether anything changed.
pub fn put_entity(doc: &mut AutoCommit, key: &str, fields: &Fields<'_>) -> Result<bool> {
    let doc_err = |e: automerge::AutomergeError| Error::document(key, e);
    let (obj, existing) = match doc.get(ROOT, key).map_err(doc_err)? {
        Some((Value::Object(ObjType::Map), id)) => {
            let e = Entity::read(doc, &id);
            (id, e)
        }
        _ => (doc.put_object(ROOT, key, ObjType::Map).map_err(doc_err)?, Entity::default()),
    };
    let mut changed = existing.fields.is_empty();
    for (name, value) in fields {
        match value {
            Some(v) if existing.fields.get(*name) != Some(v) => {
                doc.put(&obj, *name, v.clone()).map_err(doc_err)?;
                changed = true;
            }
            None if existing.fields.contains_key(*name) => {
                doc.delete(&obj, *name).map_err(doc_err)?;
                changed = true;
            }
            _ => {}
        }
    }
    Ok(changed)
}

/// Reads the entity map at root key `key`.
pub fn get_entity(doc: &AutoCommit, key: &str) -> Option<Entity> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(Entity::read(doc, &id)),
        _ => None,
    }
}

/// Every entity map whose root key starts with `prefix`, with the rest of its key.
pub fn entities<'a>(doc: &'a AutoCommit, prefix: &'a str) -> impl Iterator<Item = (String, Entity)> + 'a {
    doc.map_range(ROOT, prefix.to_string()..).take_while(move |item| item.key.starts_with(prefix)).filter_map(
        move |item| match item.value {
            automerge::ValueRef::Object(ObjType::Map) => {
                let id = item.id();
                Some((item.key[prefix.len()..].to_string(), Entity::read(doc, &id)))
            }
            _ => None,
        },
    )
}

/// Which kind of record a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A check-in of a check-in log.
    CheckIn,
    /// A visit of a visit log.
    Visit,
    /// A household of a roster.
    Household,
    /// A resident of a roster.
    Resident,
    /// The fields an incident's reporter wrote.
    IncidentFields,
    /// One event of an incident's workflow event list.
    WorkflowEvent,
    /// The fields a service order's requester wrote.
    OrderFields,
    /// One event of a service order's workflow event list.
    OrderEvent,
    /// A redemption a committee or station recorded in the points ledger.
    Redemption,
    /// A credit or a decision the server wrote in the points ledger.
    PointsEntry,
    /// The fields a project's creator wrote.
    ProjectFields,
    /// A status event of a project.
    ProjectStatus,
    /// A resident's rating of a project.
    ProjectRating,
    /// A household's answers to the residents' survey.
    Survey,
    /// The community's rating of a department.
    DepartmentRating,
}

impl RecordKind {
    /// True for records that, once written, are never edited or deleted. Households and residents are
    /// updated by roster imports (and marked moved out, never deleted).
    pub fn append_only(&self) -> bool {
        !matches!(self, RecordKind::Household | RecordKind::Resident)
    }
}

/// What a record says about who wrote it, where and when. `None`: records of this kind do not say it; a
/// field the kind carries but the record lacks reads as empty text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// Grid code.
    pub grid: Option<String>,
    /// Household code.
    pub household: Option<String>,
    /// User name of the author (a check-in's or visit's author, an event's actor, an incident's reporter).
    pub user: Option<String>,
    /// Device id of the author.
    pub device: Option<String>,
    /// Role code claimed (workflow events).
    pub role: Option<String>,
    /// When it happened (RFC 3339 as written).
    pub at: Option<String>,
}

impl Claims {
    /// What an act claims (a workflow event, a redemption): who took it, on which device, in which role and
    /// when — no grid or household of its own.
    pub fn of_act(user: String, device: String, role: String, at: String) -> Claims {
        Claims { grid: None, household: None, user: Some(user), device: Some(device), role: Some(role), at: Some(at) }
    }
}

/// One record of a document as its writers left it: what the server binds to its author device and to the
/// document. A record's writers are the actors of the operations behind its current value.
#[derive(Debug, Clone)]
pub struct Record {
    /// Kind of record.
    pub kind: RecordKind,
    /// Identifies the record across versions of its document: its root key, or for a list item the
    /// operation that wrote it. May hold personal data (a resident's key holds the name): never show it.
    pub key: String,
    /// Names the record in messages, without personal data.
    pub label: String,
    /// Every operation behind the record's current value: the map and every value of each of its fields
    /// (all values of a conflict), or the one scalar.
    pub ops: Vec<ObjId>,
    /// What the record says.
    pub claims: Claims,
}

/// The records of a document of `kind` (the community document holds configuration, no records).
pub fn records(kind: DocKind, doc: &AutoCommit) -> Vec<Record> {
    match kind {
        DocKind::Community => Vec::new(),
        DocKind::Roster => roster::records(doc),
        DocKind::CheckInLog => checkin_log::records(doc),
        DocKind::VisitLog => visit_log::records(doc),
        DocKind::Incident => incident::records(doc),
        DocKind::ServiceOrder => service_order::records(doc),
        DocKind::Points => points::records(doc),
        DocKind::Project => project::records(doc),
        DocKind::Survey => survey::records(doc),
        DocKind::DepartmentRating => department::records(doc),
        // Written by the server alone (`scope`): no device's records to check.
        DocKind::Building => Vec::new(),
    }
}

/// At most this many characters of a key go into a record's label (keys are peer input).
const LABEL_KEY_CHARS: usize = 40;

/// A record label: `what` and the start of `id`.
pub(crate) fn label(what: &str, id: &str) -> String {
    format!("{what} {}", id.chars().take(LABEL_KEY_CHARS).collect::<String>())
}

/// Every value op of `key` in `obj`: the visible one, or all of a conflict.
pub(crate) fn value_ops(
    doc: &AutoCommit,
    obj: &ObjId,
    prop: impl Into<automerge::Prop>,
    conflict: bool,
    visible: ObjId,
) -> Vec<ObjId> {
    if !conflict {
        return vec![visible];
    }
    match doc.get_all(obj, prop) {
        Ok(values) => values.into_iter().map(|(_, id)| id).collect(),
        Err(_) => vec![visible],
    }
}

/// The records kept as entity maps under root keys starting with `prefix`; `describe` gives each one's
/// label and claims from the rest of its key and its fields.
/// The records of a log (check-ins, visits): each claims its grid, household, author, device and time.
pub(crate) fn log_records(doc: &AutoCommit, prefix: &str, kind: RecordKind, noun: &str) -> Vec<Record> {
    entity_records(doc, prefix, kind, |id, e| {
        let claims = Claims {
            grid: Some(e.str("grid")),
            household: Some(e.str("household")),
            user: Some(e.str("author")),
            device: Some(e.str("device")),
            role: None,
            at: Some(e.str("at")),
        };
        (label(noun, id), claims)
    })
}

pub(crate) fn entity_records(
    doc: &AutoCommit,
    prefix: &str,
    kind: RecordKind,
    describe: impl Fn(&str, &Entity) -> (String, Claims),
) -> Vec<Record> {
    doc.map_range(ROOT, prefix.to_string()..)
        .take_while(|item| item.key.starts_with(prefix))
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
        .map(|item| {
            let obj = item.id();
            let mut ops = vec![obj.clone()];
            for field in doc.map_range(&obj, ..) {
                let visible = field.id();
                ops.extend(value_ops(doc, &obj, field.key.as_ref(), field.conflict, visible));
            }
            let entity = Entity::read(doc, &obj);
            let (label, claims) = describe(&item.key[prefix.len()..], &entity);
            Record { kind, key: item.key.to_string(), label, ops, claims }
        })
        .collect()
}

/// A string scalar.
pub fn s(v: &str) -> Option<ScalarValue> {
    Some(ScalarValue::Str(v.into()))
}
/// An optional string scalar (absent when `None`).
pub fn os(v: &Option<String>) -> Option<ScalarValue> {
    v.as_deref().map(|v| ScalarValue::Str(v.into()))
}
/// An integer scalar.
pub fn i(v: i64) -> Option<ScalarValue> {
    Some(ScalarValue::Int(v))
}
/// A boolean scalar.
pub fn b(v: bool) -> Option<ScalarValue> {
    Some(ScalarValue::Boolean(v))
}
/// A flag written only when true (an absent flag reads false), which saves an operation per entity.
pub fn flag(v: bool) -> Option<ScalarValue> {
    v.then_some(ScalarValue::Boolean(true))
}
/// A string written only when not empty (an absent string reads empty).
pub fn ne(v: &str) -> Option<ScalarValue> {
    (!v.is_empty()).then(|| ScalarValue::Str(v.into()))
}
/// A list of strings as one `;`-joined scalar, written only when not empty.
pub fn list(v: &[String]) -> Option<ScalarValue> {
    (!v.is_empty()).then(|| ScalarValue::Str(v.join(";").into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile list field of a million separators is read as at most `MAX_LIST_ITEMS` items.
    #[test]
    fn a_list_field_is_read_within_its_bound() {
        let e = |text: String| Entity { fields: [("photos".to_string(), ScalarValue::Str(text.into()))].into() };
        assert_eq!(e("a;;b".into()).list("photos"), ["a", "b"]);
        assert_eq!(e("x;".repeat(1_000_000)).list("photos").len(), MAX_LIST_ITEMS);
        assert!(e(String::new()).list("photos").is_empty());
    }

    #[test]
    fn doc_ids_round_trip_and_reject_junk() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
        for id in [
            DocId::community("c1"),
            DocId::roster("c1", "G01"),
            DocId::check_in_log("c1", "G01", day),
            DocId::visit_log("c1", "G01", "2026-11"),
            DocId::incident("c1", "G01", "0190f5a4-2b3c-7d4e-8f00-112233445566"),
            DocId::service_order("c1", "G01", "0190f5a4-2b3c-7d4e-8f00-112233445566"),
            DocId::points("c1"),
            DocId::project("c1", "0190f5a4-2b3c-7d4e-8f00-112233445566"),
            DocId::survey("c1", "G01", 2026),
            DocId::departments("c1", 2026),
        ] {
            assert_eq!(DocId::parse(&id.to_string()).expect("parses"), id);
        }
        assert_eq!(DocId::departments("c1", 2026).to_string(), "departments:c1:2026");
        assert_eq!(DocId::parse("survey:c1:G01:2026").expect("survey").year(), Some(2026));
        assert_eq!(DocId::roster("c1", "G01").year(), None);
        for bad in [
            "",
            "roster:c1",
            "roster:c1:G 1",
            "checkins:c1:G1:2026-13-01",
            "visits:c1:G1:2026-1",
            "nope:c1",
            "incident:c1:G1:x",
            "community:c/1",
            "order:c1:G1:x",
            "points:c1:G1",
            "project:c1",
            "project:c1:G1",
            "project:c1:G1:0190f5a4-2b3c-7d4e-8f00-112233445566",
            "survey:c1:G1",
            "survey:c1:G1:26",
            "survey:c1:G1:1999",
            "survey:c1:2026",
            "departments:c1:G1:2026",
            "departments:c1:+202",
            "departments:c1",
            "building:c1:G1",
            "building:c1:G1:b12",
            "building:c1:G1:B0123456789abcdef",
            "checkins:c1:G1:2026-11-24:bzz23456789abcdef",
            "checkins:c1:G1:2026-11-24:b0123456789abcdef:x",
            "visits:c1:G1:2026-11:b0123456789abcdef",
        ] {
            assert!(DocId::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn building_ids_carry_the_building_key_and_logs_their_day() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
        let key = building_key("1号楼");
        assert!(valid_building_key(&key) && key != building_key("2号楼"));
        let log = DocId::building_check_in_log("c1", "G01", day, &key);
        assert_eq!(log.to_string(), format!("checkins:c1:G01:2026-11-24:{key}"));
        let projection = DocId::building("c1", "G01", &key);
        for id in [&log, &projection] {
            assert_eq!(DocId::parse(&id.to_string()).expect("parses"), *id);
            assert_eq!(id.building_key(), Some(key.as_str()));
        }
        assert_eq!(log.day(), Some(day));
        assert_eq!(DocId::check_in_log("c1", "G01", day).day(), Some(day));
        assert_eq!(DocId::check_in_log("c1", "G01", day).building_key(), None);
        assert_eq!(DocId::roster("c1", "G01").building_key(), None);
    }

    #[test]
    fn concurrent_creation_of_the_same_day_log_keeps_both_entries() {
        let id = DocId::check_in_log("c1", "G01", chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"));
        let mut a = new_document(&id, &automerge::ActorId::random()).expect("a");
        let mut b = new_document(&id, &automerge::ActorId::random()).expect("b");
        put_entity(&mut a, "checkin/1", &vec![("note", s("from a"))]).expect("put a");
        put_entity(&mut b, "checkin/2", &vec![("note", s("from b"))]).expect("put b");
        a.merge(&mut b).expect("merge");
        let keys: Vec<String> = entities(&a, "checkin/").map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["1", "2"]);
        check_scope(&id, &a).expect("scope agrees");
        assert!(check_scope(&DocId::roster("c1", "G01"), &a).is_err());
    }

    #[test]
    fn records_carry_every_operation_behind_them_and_their_claims() {
        let id = DocId::roster("c1", "G01");
        let mut a = new_document(&id, &automerge::ActorId::random()).expect("a");
        put_entity(&mut a, "household/H1", &vec![("room", s("101"))]).expect("put");
        put_entity(&mut a, "resident/H1/张", &vec![("name", s("张"))]).expect("put");
        a.commit();
        let mut b = a.fork().with_actor(automerge::ActorId::random());
        put_entity(&mut a, "household/H1", &vec![("room", s("102"))]).expect("a edits");
        put_entity(&mut b, "household/H1", &vec![("room", s("103"))]).expect("b edits");
        a.merge(&mut b).expect("merge");
        let found = records(DocKind::Roster, &a);
        let household = found.iter().find(|r| r.kind == RecordKind::Household).expect("household");
        // The map and both values of the conflicting room.
        assert_eq!(household.ops.len(), 3);
        let resident = found.iter().find(|r| r.kind == RecordKind::Resident).expect("resident");
        assert_eq!(resident.claims.household.as_deref(), Some("H1"));
        assert!(!resident.label.contains('张'), "labels carry no names: {}", resident.label);
        assert!(records(DocKind::Community, &a).is_empty());
    }

    #[test]
    fn put_entity_writes_only_differences() {
        let mut doc = AutoCommit::new();
        assert!(put_entity(&mut doc, "household/H1", &vec![("room", s("101")), ("floor", i(1))]).expect("put"));
        doc.commit();
        let heads = doc.get_heads();
        assert!(!put_entity(&mut doc, "household/H1", &vec![("room", s("101")), ("floor", i(1))]).expect("same"));
        doc.commit();
        assert_eq!(doc.get_heads(), heads, "no change when nothing differs");
        assert!(put_entity(&mut doc, "household/H1", &vec![("room", s("102")), ("floor", None)]).expect("edit"));
        let e = get_entity(&doc, "household/H1").expect("entity");
        assert_eq!(e.str("room"), "102");
        assert_eq!(e.opt_i64("floor"), None);
    }
}
