//! Content the server binds to identity and scope, beyond authorship and the document's scope: every record a
//! round adds or changes (a check-in, a visit, a roster entry, an incident's fields, a workflow event) must
//! be its writer's — the user, device and role it names are those of the device whose Automerge actor wrote
//! it, the grid it names is its document's, the household it names is in that grid's roster — and must not
//! be dated after the server's receipt. Records that are written once (check-ins, visits, an incident's
//! fields and events) are never rewritten or deleted; households and residents may be updated, never
//! deleted. What the stored document already held is not checked again, so old data never blocks a sync.
//!
//! The server's own receipt event (role `server`) is appended by the server after these checks; a device
//! claiming that role, or writing in the server's actor, is refused like any other false claim.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit, ObjId};
use chrono::{DateTime, TimeDelta, Utc};
use gridline_core::docs::{self, roster, DocId, DocKind, Record, RecordKind};
use gridline_core::model::{Role, MAX_TIME_AHEAD};
use gridline_core::sync::signing;

use crate::error::{Result, ServerError};
use crate::storage::Device;

/// How far a phone's clock may run ahead of the server's: phones set their clocks from the network, so ten
/// minutes covers a clock that has not synchronised for a while without letting a record claim tomorrow.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);

/// What the content checks read besides the document itself.
pub trait ContentLookup {
    /// An enrolled device by id (the author of a relayed change).
    fn device(&mut self, device_id: &str) -> Result<Option<Device>>;
    /// True when roster document `roster` holds household `code`, as stored plus this round's writes.
    fn has_household(&mut self, roster: &DocId, code: &str) -> Result<bool>;
    /// The building household `code` has in roster document `roster`, as stored plus this round's writes.
    fn household_building(&mut self, roster: &DocId, code: &str) -> Result<Option<String>>;
}

/// Who sent the round, and where to look up what the checks need.
pub struct ContentContext<'a> {
    /// The device that sent the round.
    pub sender: &'a Device,
    /// Devices and rosters.
    pub lookup: &'a mut dyn ContentLookup,
}

/// What one stored record was: how to name it, whether it may change, and the operations behind it.
#[derive(Debug)]
struct StoredRecord {
    kind: RecordKind,
    label: String,
    append_only: bool,
    ops: HashSet<ObjId>,
}

/// What the stored document held before a round: its records, so that only new or changed ones are checked.
#[derive(Debug, Default)]
pub struct Stored {
    records: HashMap<String, StoredRecord>,
}

/// What the stored document `doc` of `id` holds, for [`check_content`].
pub fn stored(id: &DocId, doc: &AutoCommit) -> Stored {
    let records = docs::records(id.kind, doc)
        .into_iter()
        .map(|r| {
            let record = StoredRecord {
                kind: r.kind,
                label: r.label,
                append_only: r.kind.append_only(),
                ops: r.ops.into_iter().collect(),
            };
            (r.key, record)
        })
        .collect();
    Stored { records }
}

impl Stored {
    /// Whether the stored document already had workflow events (so the server's receipt is in it).
    pub fn has_events(&self) -> bool {
        self.records.values().any(|r| r.kind == RecordKind::WorkflowEvent)
    }
}

/// Checks the records document `id` gained or changed in this round (`stored` → `doc`): stored records are
/// kept, and every new or changed record is bound to each device that wrote it, to the document's grid and
/// roster, and to the receipt time `now`. Anything else is `forbidden_change`, naming the document and the
/// record (never a resident's name).
pub fn check_content(
    ctx: &mut ContentContext<'_>,
    id: &DocId,
    stored: &Stored,
    doc: &AutoCommit,
    now: DateTime<Utc>,
) -> Result<()> {
    let refuse = |why: String| Err(ServerError::forbidden_change(format!("{id}: {why}")));
    let records = docs::records(id.kind, doc);
    let present: HashMap<&str, &Record> = records.iter().map(|r| (r.key.as_str(), r)).collect();
    for (key, old) in &stored.records {
        match present.get(key.as_str()) {
            None => return refuse(format!("stored {} was rewritten or deleted", old.label)),
            Some(r)
                if old.append_only && (r.ops.len() != old.ops.len() || r.ops.iter().any(|o| !old.ops.contains(o))) =>
            {
                return refuse(format!("stored {} was rewritten", old.label))
            }
            Some(_) => {}
        }
    }
    let latest = now + MAX_TIME_AHEAD + CLOCK_SKEW;
    let mut authors: HashMap<ActorId, Option<Device>> = HashMap::new();
    for record in &records {
        let old = stored.records.get(&record.key);
        let mut writers: Vec<&ActorId> = Vec::new();
        for op in &record.ops {
            let ObjId::Id(_, actor, _) = op else { continue };
            if old.is_some_and(|o| o.ops.contains(op)) || writers.contains(&actor) {
                continue;
            }
            writers.push(actor);
        }
        for actor in writers {
            if !authors.contains_key(actor) {
                let device = author_device(ctx, actor)?;
                authors.insert(actor.clone(), device);
            }
            let Some(Some(author)) = authors.get(actor) else {
                return refuse(format!("{} is written by an actor that is no enrolled device", record.label));
            };
            if let Some(why) = false_claim(ctx, id, doc, record, author, latest)? {
                return refuse(format!("{} {why}", record.label));
            }
        }
    }
    Ok(())
}

/// The device whose actor is `actor`: the sender, or an enrolled device (a relayed change's author).
fn author_device(ctx: &mut ContentContext<'_>, actor: &ActorId) -> Result<Option<Device>> {
    if ctx.sender.is_actor(actor) {
        return Ok(Some(ctx.sender.clone()));
    }
    let Some(device_id) = signing::actor_device(actor) else { return Ok(None) };
    ctx.lookup.device(&device_id)
}

/// What is false in `record`'s claims when `author` wrote it, if anything.
fn false_claim(
    ctx: &mut ContentContext<'_>,
    id: &DocId,
    doc: &AutoCommit,
    record: &Record,
    author: &Device,
    latest: DateTime<Utc>,
) -> Result<Option<String>> {
    let c = &record.claims;
    // A project is community-level: a rating names its household's grid, which `project_claim` checks against
    // its author's scope; every other record names its document's grid.
    let grid = match id.kind {
        DocKind::Project => c.grid.as_deref().unwrap_or_default(),
        _ => id.grid.as_deref().unwrap_or_default(),
    };
    if c.grid.as_ref().is_some_and(|g| g != grid) {
        return Ok(Some(format!("names another grid than the document's ({grid})")));
    }
    if c.user.as_ref().is_some_and(|u| *u != author.user) {
        return Ok(Some("names another user than its author device's".into()));
    }
    if c.device.as_ref().is_some_and(|d| *d != author.device_id) {
        return Ok(Some("names another device than its author device".into()));
    }
    if let Some(role) = &c.role {
        if role != author.role.code() {
            let role: String = role.chars().take(32).collect();
            return Ok(Some(format!("claims role {role:?}, its author device holds {:?}", author.role.code())));
        }
    }
    if let Some(at) = &c.at {
        match DateTime::parse_from_rfc3339(at) {
            Err(_) => return Ok(Some("has no valid time".into())),
            Ok(at) if at > latest => return Ok(Some("is dated after the server received it".into())),
            Ok(_) => {}
        }
    }
    if let Some(why) = evaluation_problem(id, doc, record, author) {
        return Ok(Some(why.into()));
    }
    if let Some(code) = &c.household {
        let known = match id.kind {
            DocKind::Roster => roster::has_household(doc, code),
            _ => !grid.is_empty() && ctx.lookup.has_household(&DocId::roster(&id.community, grid), code)?,
        };
        if !known {
            return Ok(Some(format!("names a household that is not in grid {grid}'s roster")));
        }
        // A building-level check-in log holds its building's households alone: what a building lead may
        // read and write is decided by the log's id, so its content must agree with it.
        if let Some(key) = id.building_key() {
            let building = ctx.lookup.household_building(&DocId::roster(&id.community, grid), code)?;
            if building.as_deref().map(docs::building_key).as_deref() != Some(key) {
                return Ok(Some("names a household of another building than its log's".into()));
            }
        }
    }
    if id.kind == DocKind::Project {
        return project_claim(ctx, id, record, author);
    }
    Ok(None)
}

/// What a project's record claims beyond its author (PROTOCOL.md, projects): its fields and status events are
/// the committee's or the station's; a resident's rating is for a household its author may rate (of the
/// author's grids for a grid role, of its buildings for a building lead), decided by the building the grid's
/// stored roster records for the household, never by the building the rating names. (A rating naming a
/// stale building is not refused otherwise: a phone recording offline before a roster correction keeps its
/// rating.)
fn project_claim(ctx: &mut ContentContext<'_>, id: &DocId, record: &Record, author: &Device) -> Result<Option<String>> {
    let scope = author.scope();
    Ok(match record.kind {
        RecordKind::ProjectFields | RecordKind::ProjectStatus if !scope.may_run_projects() => {
            Some(format!("is written by role {:?}, which does not run projects", author.role.code()))
        }
        RecordKind::ProjectRating => {
            let grid = record.claims.grid.as_deref().unwrap_or_default();
            let household = record.claims.household.as_deref().unwrap_or_default();
            let stored = ctx.lookup.household_building(&DocId::roster(&id.community, grid), household)?;
            match stored {
                Some(building) if scope.may_rate_household(grid, &building) => None,
                _ => Some(format!("rates a household of grid {grid}, outside its author's scope")),
            }
        }
        _ => None,
    })
}

/// What is wrong with a record of the two-way evaluation (双评议) beyond its claims, if anything: a survey's
/// key must name its household, its answers be 1–5 and its time fall in the document's year; a department
/// rating is the committee's or the station's, under its department's key, with scores 1–5.
fn evaluation_problem(id: &DocId, doc: &AutoCommit, record: &Record, author: &Device) -> Option<&'static str> {
    let entity = || docs::get_entity(doc, &record.key).unwrap_or_default();
    match record.kind {
        RecordKind::Survey => {
            let rest = record.key.strip_prefix(docs::survey::SURVEY_PREFIX)?;
            docs::survey::entry_problem(rest, &entity(), id.year())
        }
        RecordKind::DepartmentRating => {
            if !matches!(author.role, Role::Committee | Role::Station) {
                return Some("is written by a role that rates no department");
            }
            let rest = record.key.strip_prefix(docs::department::RATING_PREFIX)?;
            docs::department::entry_problem(rest, &entity())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use gridline_core::docs::{checkin_log, incident, visit_log};
    use gridline_core::model::{
        CheckIn, CheckInKind, CheckInOutcome, Household, IncidentEvent, IncidentFields, Resident, Severity, Visit,
        VisitKind,
    };

    const LEADER: &str = "0190f5a4-2b3c-7d4e-8f00-000000000001";
    const OTHER: &str = "0190f5a4-2b3c-7d4e-8f00-000000000002";
    const INCIDENT: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";

    fn device(device_id: &str, user: &str, role: Role) -> Device {
        Device {
            device_id: device_id.into(),
            community_id: "c1".into(),
            user: user.into(),
            role,
            grids: vec!["G01".into()],
            buildings: vec![],
            public_key: String::new(),
            revoked: false,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T10:00:00+08:00").expect("time").with_timezone(&Utc)
    }

    /// Devices and the G01 roster (households H1, H2).
    struct Lookup {
        devices: Vec<Device>,
        roster: AutoCommit,
    }

    impl ContentLookup for Lookup {
        fn device(&mut self, device_id: &str) -> Result<Option<Device>> {
            Ok(self.devices.iter().find(|d| d.device_id == device_id).cloned())
        }
        fn household_building(&mut self, roster: &DocId, code: &str) -> Result<Option<String>> {
            let found = (*roster == DocId::roster("c1", "G01"))
                .then(|| docs::get_entity(&self.roster, &roster::household_key(code)).map(|h| h.str("building")));
            Ok(found.flatten())
        }
        fn has_household(&mut self, roster: &DocId, code: &str) -> Result<bool> {
            Ok(*roster == DocId::roster("c1", "G01") && roster::has_household(&self.roster, code))
        }
    }

    fn lookup() -> Lookup {
        let mut roster = AutoCommit::new();
        for code in ["H1", "H2"] {
            roster::put_household(&mut roster, &household(code)).expect("household");
        }
        Lookup {
            devices: vec![device(LEADER, "wang", Role::GridLeader), device(OTHER, "li", Role::GridLeader)],
            roster,
        }
    }

    fn household(code: &str) -> Household {
        Household {
            household_code: code.into(),
            grid: "G01".into(),
            building: "1".into(),
            unit: "1".into(),
            floor: 1,
            room: "101".into(),
            moved_out: false,
        }
    }

    fn actor(device_id: &str) -> ActorId {
        signing::device_actor(device_id).expect("actor")
    }

    /// A check-in by `wang` on LEADER at H1 of G01, three days before `now`.
    fn check_in(id: &str) -> CheckIn {
        CheckIn {
            check_in_id: id.into(),
            household_code: "H1".into(),
            grid: "G01".into(),
            kind: CheckInKind::Door,
            outcome: CheckInOutcome::Well,
            note: "all well".into(),
            photos: vec![],
            location: None,
            at: DateTime::parse_from_rfc3339("2026-11-21T09:00:00+08:00").expect("time"),
            author: "wang".into(),
            device_id: LEADER.into(),
        }
    }

    fn log_id() -> DocId {
        DocId::check_in_log("c1", "G01", chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("day"))
    }

    /// Runs the checks of `id` for a round sent by LEADER that turned `before` into `after`.
    fn check(id: &DocId, before: &AutoCommit, after: &AutoCommit) -> Result<()> {
        let sender = device(LEADER, "wang", Role::GridLeader);
        let mut lookup = lookup();
        let mut ctx = ContentContext { sender: &sender, lookup: &mut lookup };
        check_content(&mut ctx, id, &stored(id, before), after, now())
    }

    fn refused(result: Result<()>, why: &str) {
        match result {
            Err(e) => {
                assert_eq!(e.code, gridline_core::ErrorCode::ForbiddenChange);
                assert!(e.message.contains(why), "{why:?} not in {:?}", e.message);
            }
            Ok(()) => panic!("accepted, expected {why:?}"),
        }
    }

    /// `before` plus a check-in by `writer`.
    fn with_check_in(before: &AutoCommit, writer: &str, c: &CheckIn) -> AutoCommit {
        let mut doc = before.clone().with_actor(actor(writer));
        checkin_log::append(&mut doc, c).expect("append");
        doc.commit();
        doc
    }

    #[test]
    fn honest_check_ins_pass_and_false_claims_are_refused() {
        let id = log_id();
        let empty = docs::new_document(&id, &actor(LEADER)).expect("doc");
        check(&id, &empty, &with_check_in(&empty, LEADER, &check_in("1"))).expect("honest, dated three days ago");
        let tomorrow = DateTime::parse_from_rfc3339("2026-11-25T10:00:00+08:00").expect("time");
        let within_an_hour = DateTime::parse_from_rfc3339("2026-11-24T11:05:00+08:00").expect("time");
        check(&id, &empty, &with_check_in(&empty, LEADER, &CheckIn { at: within_an_hour, ..check_in("1") }))
            .expect("a time a phone accepts");
        let lies: [(CheckIn, &str); 6] = [
            (CheckIn { grid: "G02".into(), ..check_in("1") }, "another grid"),
            (CheckIn { household_code: "H9".into(), ..check_in("1") }, "not in grid G01's roster"),
            (CheckIn { household_code: String::new(), ..check_in("1") }, "not in grid G01's roster"),
            (CheckIn { author: "li".into(), ..check_in("1") }, "another user"),
            (CheckIn { device_id: OTHER.into(), ..check_in("1") }, "another device"),
            (CheckIn { at: tomorrow, ..check_in("1") }, "dated after"),
        ];
        for (lie, why) in lies {
            refused(check(&id, &empty, &with_check_in(&empty, LEADER, &lie)), why);
        }
        // A check-in missing its binding fields altogether.
        let mut bare = empty.clone().with_actor(actor(LEADER));
        docs::put_entity(&mut bare, &checkin_log::check_in_key("2"), &vec![("note", docs::s("x"))]).expect("put");
        refused(check(&id, &empty, &bare), "check-in 2");
    }

    #[test]
    fn stored_records_are_not_checked_again_and_never_rewritten() {
        let id = log_id();
        let empty = docs::new_document(&id, &actor(LEADER)).expect("doc");
        // Stored before these checks existed: a check-in naming a household no roster has.
        let stored_doc = with_check_in(&empty, LEADER, &CheckIn { household_code: "OLD".into(), ..check_in("1") });
        check(&id, &stored_doc, &with_check_in(&stored_doc, LEADER, &check_in("2"))).expect("old data passes");
        // Another device editing or deleting a stored check-in is refused, even writing honest claims.
        let mut edited = stored_doc.clone().with_actor(actor(OTHER));
        docs::put_entity(&mut edited, &checkin_log::check_in_key("1"), &vec![("note", docs::s("changed"))])
            .expect("edit");
        refused(check(&id, &stored_doc, &edited), "stored check-in 1 was rewritten");
        let mut deleted = stored_doc.clone().with_actor(actor(LEADER));
        deleted.delete(automerge::ROOT, checkin_log::check_in_key("1")).expect("delete");
        refused(check(&id, &stored_doc, &deleted), "rewritten or deleted");
    }

    #[test]
    fn relayed_records_are_bound_to_their_own_author() {
        let id = log_id();
        let empty = docs::new_document(&id, &actor(LEADER)).expect("doc");
        let by_li = CheckIn { author: "li".into(), device_id: OTHER.into(), ..check_in("1") };
        check(&id, &empty, &with_check_in(&empty, OTHER, &by_li)).expect("li's own check-in, relayed");
        refused(check(&id, &empty, &with_check_in(&empty, OTHER, &check_in("1"))), "another user");
        let stranger = "0190f5a4-2b3c-7d4e-8f00-00000000ffff";
        refused(check(&id, &empty, &with_check_in(&empty, stranger, &check_in("1"))), "no enrolled device");
    }

    fn visit(author: &str) -> Visit {
        Visit {
            visit_id: "v1".into(),
            household_code: "H2".into(),
            grid: "G01".into(),
            residents: vec![],
            kind: VisitKind::Home,
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time"),
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("day"),
            duration_min: None,
            services: vec![],
            needs: String::new(),
            need_tags: vec![],
            follow_up: None,
            satisfaction: None,
            photos: vec![],
            author: author.into(),
            device_id: LEADER.into(),
        }
    }

    #[test]
    fn visits_are_bound_like_check_ins() {
        let id = DocId::visit_log("c1", "G01", "2026-11");
        let empty = docs::new_document(&id, &actor(LEADER)).expect("doc");
        for (author, ok) in [("wang", true), ("li", false)] {
            let mut doc = empty.clone().with_actor(actor(LEADER));
            visit_log::append(&mut doc, &visit(author)).expect("visit");
            doc.commit();
            assert_eq!(check(&id, &empty, &doc).is_ok(), ok, "{author}");
        }
    }

    #[test]
    fn residents_belong_to_a_household_of_their_roster_and_households_stay() {
        let id = DocId::roster("c1", "G01");
        let mut stored_doc = docs::new_document(&id, &actor(LEADER)).expect("doc");
        roster::put_household(&mut stored_doc, &household("H1")).expect("household");
        stored_doc.commit();
        let resident = |household: &str| Resident {
            household_code: household.into(),
            name: "张秀英".into(),
            gender: "F".into(),
            birth_year: 1948,
            phone: None,
            id_number: None,
            tags: vec![],
            notes: String::new(),
            moved_out: false,
        };
        // A household added in the same round, and a resident of it: fine; an update by another device too.
        let mut doc = stored_doc.clone().with_actor(actor(LEADER));
        roster::put_household(&mut doc, &household("H3")).expect("household");
        roster::put_resident(&mut doc, &resident("H3")).expect("resident");

        check(&id, &stored_doc, &doc).expect("new household and its resident");
        let mut updated = stored_doc.clone().with_actor(actor(OTHER));
        roster::put_household(&mut updated, &Household { moved_out: true, ..household("H1") }).expect("moved out");
        check(&id, &stored_doc, &updated).expect("households are updated");
        // A resident of a household the roster does not hold: refused, without the resident's name.
        let mut doc = stored_doc.clone().with_actor(actor(LEADER));
        roster::put_resident(&mut doc, &resident("H9")).expect("resident");
        let err = check(&id, &stored_doc, &doc).expect_err("unknown household");
        assert!(
            err.message.contains("a resident of household H9") && !err.message.contains("张秀英"),
            "{}",
            err.message
        );
        // A stored household deleted: refused.
        let mut doc = stored_doc.clone().with_actor(actor(LEADER));
        doc.delete(automerge::ROOT, roster::household_key("H1")).expect("delete");
        refused(check(&id, &stored_doc, &doc), "stored household H1 was rewritten or deleted");
    }

    fn event(actor_user: &str, device_id: &str, role: &str, at: &str) -> IncidentEvent {
        IncidentEvent::new("comment", actor_user, device_id, role, at)
    }

    /// An incident reported by wang on LEADER, stored with the server's receipt.
    fn reported() -> (DocId, AutoCommit) {
        let id = DocId::incident("c1", "G01", INCIDENT);
        let mut doc = docs::new_document(&id, &actor(LEADER)).expect("doc");
        let fields = IncidentFields {
            incident_id: INCIDENT.into(),
            grid: "G01".into(),
            category: "facility_repair".into(),
            severity: Severity::Normal,
            title: "Lift stuck".into(),
            description: String::new(),
            household_code: Some("H1".into()),
            location: None,
            photos: vec![],
            check_in_id: None,
            reporter: "wang".into(),
            reporter_device: LEADER.into(),
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time"),
        };
        let report = event("wang", LEADER, "grid_leader", "2026-11-24T09:00:00+08:00");
        incident::create(&mut doc, &fields, &IncidentEvent { action: "report".into(), ..report }).expect("create");
        doc.commit();
        (id, doc)
    }

    #[test]
    fn incident_fields_and_events_are_their_author_devices() {
        let (id, reported_doc) = reported();
        let empty = AutoCommit::new();
        check(&id, &empty, &reported_doc).expect("honest report");
        let mut stored_doc = reported_doc.clone().with_actor(automerge::ActorId::from(b"gl-serve-test-00".as_slice()));
        incident::append_receipt(&mut stored_doc, now().fixed_offset()).expect("receipt");
        stored_doc.commit();
        let past = "2026-11-21T09:00:00+08:00";
        let with = |e: IncidentEvent| {
            let mut doc = stored_doc.clone().with_actor(actor(LEADER));
            incident::append_event(&mut doc, &e).expect("append");
            doc.commit();
            doc
        };
        check(&id, &stored_doc, &with(event("wang", LEADER, "grid_leader", past))).expect("honest event");
        let lies = [
            (event("li", LEADER, "grid_leader", past), "another user"),
            (event("wang", OTHER, "grid_leader", past), "another device"),
            (event("wang", "", "grid_leader", past), "another device"),
            (event("wang", LEADER, "station", past), "claims role \"station\""),
            (event("server", "", "server", past), "another user"),
            (event("wang", LEADER, "grid_leader", "2026-11-25T10:00:00+08:00"), "dated after"),
            (event("wang", LEADER, "grid_leader", "yesterday"), "no valid time"),
        ];
        for (lie, why) in lies {
            refused(check(&id, &stored_doc, &with(lie)), why);
        }
        // Reported fields naming another reporter or a household outside the roster.
        let mut lying = AutoCommit::new().with_actor(actor(LEADER));
        let fields = incident::read(&reported_doc).expect("read").fields;
        let report = event("wang", LEADER, "grid_leader", past);
        let mut other = fields.clone();
        other.reporter = "li".into();
        incident::create(&mut lying, &other, &report).expect("create");
        refused(check(&id, &empty, &lying), "the incident's fields names another user");
        let mut lying = AutoCommit::new().with_actor(actor(LEADER));
        incident::create(&mut lying, &IncidentFields { household_code: Some("H9".into()), ..fields }, &report)
            .expect("create");
        refused(check(&id, &empty, &lying), "household that is not in grid G01's roster");
        // The stored receipt, written by the server, is never checked again; rewriting it is refused.
        let mut rewritten = stored_doc.clone().with_actor(actor(LEADER));
        let list = match automerge::ReadDoc::get(&rewritten, automerge::ROOT, incident::EVENTS_KEY).expect("get") {
            Some((_, list)) => list,
            None => panic!("no events"),
        };
        rewritten.put(&list, 1, "{}").expect("overwrite");
        refused(check(&id, &stored_doc, &rewritten), "rewritten");
        assert!(stored(&id, &stored_doc).has_events() && !stored(&id, &empty).has_events());
    }
}
