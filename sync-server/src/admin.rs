//! Admin sub-commands: communities, roster imports, enrollment codes, devices, and the move from SQLite to
//! PostgreSQL. They open the same SQLite file as a running `serve` (WAL, busy timeout); documents they write
//! are authored by the server's actor.

use chrono::{DateTime, Utc};
use gridline_core::docs::roster::{ImportSummary, RosterImport};
use gridline_core::docs::{self, DocId};
use gridline_core::model::{CommunitySettings, Role};
use gridline_core::roster_csv::RosterError;
use gridline_core::ErrorCode;
use serde_json::{json, Value};

use crate::engine::Engine;
use crate::enrollment;
use crate::error::{Result, ServerError};
use crate::storage::Community;

/// Creates a community, its community document with the default configuration, and its (empty) points
/// ledger, so that every device of the community, a volunteer's too, holds the ledger from its first sync.
pub fn create_community(engine: &Engine, name: &str, timezone: &str) -> Result<Value> {
    create_community_with_id(engine, &uuid::Uuid::now_v7().to_string(), name, timezone)
}

/// [`create_community`] under a given community id (a UUID): fixtures whose inputs name the community.
pub fn create_community_with_id(engine: &Engine, community_id: &str, name: &str, timezone: &str) -> Result<Value> {
    if uuid::Uuid::parse_str(community_id).is_err() {
        return Err(ServerError::bad_request(
            ErrorCode::InvalidInput,
            format!("community id: {community_id:?} is not a UUID"),
        ));
    }
    if engine.storage().community(community_id)?.is_some() {
        return Err(ServerError::bad_request(ErrorCode::InvalidInput, format!("community {community_id:?} exists")));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServerError::bad_request(ErrorCode::InvalidInput, "name: 1 to 200 characters"));
    }
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ServerError::bad_request(
            ErrorCode::InvalidInput,
            format!("timezone: unknown time zone {timezone:?}"),
        ));
    }
    let community_id = community_id.to_string();
    let settings = CommunitySettings::defaults(&community_id, name, timezone);
    engine.edit(&[DocId::community(&community_id), DocId::points(&community_id)], |docs| {
        docs::community::write_settings(&mut docs[0], &settings)?;
        Ok(())
    })?;
    engine.storage().create_community(&Community { community_id: community_id.clone(), name: name.to_string() })?;
    Ok(json!({ "community_id": community_id }))
}

/// Imports a roster CSV (PRODUCT.md §7) into the community's grid roster documents, registering the grids in
/// the community document. A malformed row applies nothing.
pub fn import_roster(engine: &Engine, community_id: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<Value> {
    let summary = import_roster_checked(engine, community_id, bytes, now)?
        .map_err(|e| ServerError::bad_request(ErrorCode::RosterInvalid, e.to_string()))?;
    serde_json::to_value(summary).map_err(ServerError::internal)
}

/// [`import_roster`] that answers a malformed file with the core's own [`RosterError`] (its line and reason,
/// for a page to put in words) and fails only for what is not the file's fault.
pub fn import_roster_checked(
    engine: &Engine,
    community_id: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<std::result::Result<ImportSummary, RosterError>> {
    if engine.storage().community(community_id)?.is_none() {
        return Err(ServerError::not_found(format!("community {community_id:?} not found")));
    }
    let cid = DocId::community(community_id);
    let community = engine
        .document(&cid.to_string())?
        .ok_or_else(|| ServerError::not_found(format!("community document {community_id:?} not found")))?;
    let settings = docs::community::read_settings(&community);
    let import = match RosterImport::parse(bytes, &settings, now) {
        Ok(import) => import,
        Err(e) => return Ok(Err(e)),
    };
    // The community document first, then one roster per grid, all stored in one transaction.
    let mut ids = vec![cid];
    ids.extend(import.grids().into_iter().map(|grid| DocId::roster(community_id, grid)));
    let (summary, _) = engine.edit(&ids, |docs| {
        let (cdoc, rosters) = docs.split_first_mut().ok_or_else(|| ServerError::internal("no community document"))?;
        Ok(import.apply(cdoc, rosters)?)
    })?;
    Ok(Ok(summary))
}

/// Issues a one-time enrollment code.
pub fn enroll(
    engine: &Engine,
    community_id: &str,
    user: &str,
    role: &str,
    grids: &[String],
    buildings: &[String],
    now: DateTime<Utc>,
) -> Result<Value> {
    let role = role.parse::<Role>()?;
    let issued = enrollment::issue_for_buildings(engine.storage(), community_id, user, role, grids, buildings, now)?;
    serde_json::to_value(issued).map_err(ServerError::internal)
}

/// Every enrolled device.
pub fn list_devices(engine: &Engine) -> Result<Value> {
    let items: Vec<Value> = engine
        .storage()
        .devices()?
        .into_iter()
        .map(|d| {
            json!({
                "device_id": d.device_id,
                "user": d.user,
                "role": d.role.code(),
                "revoked": d.revoked,
                "community_id": d.community_id,
                "grids": d.grids,
                "buildings": d.buildings,
            })
        })
        .collect();
    Ok(json!({ "items": items }))
}

/// Revokes a device: its token is refused from now on with `device_revoked`.
pub fn revoke_device(engine: &Engine, device_id: &str) -> Result<Value> {
    if !engine.storage().revoke_device(device_id)? {
        return Err(ServerError::not_found(format!("device {device_id:?} not found")));
    }
    Ok(json!({ "device_id": device_id, "revoked": true }))
}

/// Moves the SQLite store in `from` into the empty PostgreSQL database `database_url` and proves the two
/// equal before committing (`storage::migrate`); the summary counts what was moved.
pub fn migrate(from: &std::path::Path, database_url: Option<&str>) -> Result<Value> {
    let url = database_url.ok_or_else(|| {
        ServerError::bad_request(
            ErrorCode::Usage,
            "migrate needs --database-url (or GRIDLINE_DATABASE_URL): the empty PostgreSQL database to move to",
        )
    })?;
    let summary = crate::storage::migrate::migrate(from, url)?;
    let mut doc = serde_json::to_value(summary).map_err(ServerError::internal)?;
    doc["from"] = json!(from.display().to_string());
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use gridline_core::roster_csv::ROSTER_HEADER;

    use super::*;
    use crate::storage::sqlite::SqliteStorage;

    const SHANGHAI: &str = "0190f6a4-0000-7000-8000-000000000001";
    const LONDON: &str = "0190f6a4-0000-7000-8000-000000000002";

    #[test]
    fn a_roster_import_bounds_birth_years_by_the_communitys_local_year() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::new(Box::new(SqliteStorage::open(dir.path()).expect("open")), 1 << 20);
        create_community_with_id(&engine, SHANGHAI, "东风社区", "Asia/Shanghai").expect("community");
        create_community_with_id(&engine, LONDON, "Riverside", "Europe/London").expect("community");
        // 2026-12-31 17:00 UTC is 2027-01-01 01:00 in Shanghai, still 2026 in London.
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 17, 0, 0).single().expect("valid time");
        let csv = format!("{ROSTER_HEADER}\nA,1,1,1,101,A001,新生,F,2027,,,,\n");
        let summary = import_roster(&engine, SHANGHAI, csv.as_bytes(), now).expect("2027 in Shanghai");
        assert_eq!(summary["residents"]["added"], 1);
        let roster = engine.document(&DocId::roster(SHANGHAI, "A").to_string()).expect("load").expect("roster");
        assert_eq!(docs::roster::residents(&roster)[0].birth_year, 2027);
        let err = import_roster(&engine, LONDON, csv.as_bytes(), now).expect_err("still 2026 in London");
        assert_eq!(err.code, ErrorCode::RosterInvalid);
    }
}
