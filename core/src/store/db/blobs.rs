//! SQL of the `blob` table (photos by SHA-256, inside the encrypted store) and of its upload outbox.
// Parts of this module serve only the sync client (feature `client`); the server's replica builds without it.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;

/// Stores a blob once (a hash already stored is kept as it is).
pub(crate) fn insert(conn: &Connection, hash: &str, mime: &str, bytes: &[u8], now: &str, uploaded: bool) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO blob (hash, mime, size, data, created_at, uploaded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![hash, mime, bytes.len() as i64, bytes, now, uploaded],
    )?;
    Ok(())
}

/// A stored blob's type and bytes.
pub(crate) fn get(conn: &Connection, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
    Ok(conn
        .query_row("SELECT mime, data FROM blob WHERE hash = ?1", [hash], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// True when the blob is stored.
pub(crate) fn exists(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn.query_row("SELECT 1 FROM blob WHERE hash = ?1", [hash], |_| Ok(())).optional()?.is_some())
}

/// Every stored hash.
pub(crate) fn stored(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT hash FROM blob")?;
    let stored = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<HashSet<_>>>()?;
    Ok(stored)
}

/// Every blob hash the materialised tables reference (photos of check-ins, visits, incident reports,
/// incident events and service-order events), stored or not.
pub(crate) fn referenced(conn: &Connection) -> Result<BTreeSet<String>> {
    let mut stmt = conn.prepare(
        "SELECT photos FROM check_in WHERE photos != ''
         UNION ALL SELECT photos FROM visit WHERE photos != ''
         UNION ALL SELECT photos FROM incident WHERE photos != ''
         UNION ALL SELECT photos FROM incident_event WHERE photos != ''
         UNION ALL SELECT photos FROM service_order_event WHERE photos != ''",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut hashes = BTreeSet::new();
    for photos in rows {
        hashes.extend(crate::docs::split_list(&photos?));
    }
    Ok(hashes)
}

/// Photos not yet uploaded.
pub(crate) fn pending_uploads(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM blob WHERE uploaded = 0", [], |r| r.get(0))?)
}

/// Photos not yet uploaded whose next attempt is due.
pub(crate) fn uploads_due(conn: &Connection, now: &DateTime<Utc>) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.hash FROM blob b LEFT JOIN blob_outbox o ON o.hash = b.hash
         WHERE b.uploaded = 0 AND COALESCE(o.next_attempt_at, '') <= ?1 ORDER BY b.created_at",
    )?;
    let rows = stmt.query_map([now.to_rfc3339()], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks a photo uploaded and takes it off the outbox.
pub(crate) fn uploaded(conn: &Connection, hash: &str) -> Result<()> {
    conn.execute("UPDATE blob SET uploaded = 1 WHERE hash = ?1", [hash])?;
    conn.execute("DELETE FROM blob_outbox WHERE hash = ?1", [hash])?;
    Ok(())
}

/// Records a failed upload: the next attempt waits 2^attempts minutes (at most a day).
pub(crate) fn upload_failed(conn: &Connection, hash: &str, now: &DateTime<Utc>, error: &str) -> Result<()> {
    let attempts: i64 = conn
        .query_row("SELECT attempts FROM blob_outbox WHERE hash = ?1", [hash], |r| r.get(0))
        .optional()?
        .unwrap_or(0)
        + 1;
    let next = *now + chrono::Duration::minutes((1i64 << attempts.min(10)).min(24 * 60));
    conn.execute(
        "INSERT INTO blob_outbox (hash, attempts, next_attempt_at, last_error) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (hash) DO UPDATE SET attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
             last_error = excluded.last_error",
        params![hash, attempts, next.to_rfc3339(), error],
    )?;
    Ok(())
}
