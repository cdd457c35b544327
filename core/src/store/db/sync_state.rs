//! SQL of what the device remembers about syncing (schema slot 4): each document's Automerge sync state
//! with the server, the catalogue cursor and the documents the catalogue announced, the server's address and
//! token, the device's signing key, signatures held for relayed changes, other devices' keys, the documents the server refused and when the last sync finished.
// Parts of this module serve only the sync client (feature `client`); the server's replica builds without it.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use automerge::sync;
use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension};

use super::meta::{meta_get, meta_set};
use crate::error::Result;
use crate::sync::protocol::{ChangeSignature, DeviceKey};
use crate::sync::refused::RefusedDocument;
use crate::sync::signing;

/// Meta key: the server's base URL.
pub(crate) const META_SERVER_URL: &str = "server_url";
/// Meta key: the device token.
pub(crate) const META_TOKEN: &str = "server_token";
/// Meta key: the catalogue cursor last received.
const META_CURSOR: &str = "sync_cursor";
/// Meta key: the device's Ed25519 secret key (hex), inside the encrypted store.
pub(crate) const META_SIGNING_KEY: &str = "signing_key";
/// Meta key: "1" when the user enrolled with plain HTTP to a host that is not loopback (`--insecure-http`).
pub(crate) const META_INSECURE_HTTP: &str = "server_insecure_http";
/// Meta key: the ETag of the server's key list last stored.
pub(crate) const META_KEYS_ETAG: &str = "keys_etag";
/// Meta key: when the last sync finished (RFC 3339).
const META_LAST_SYNC: &str = "last_sync_at";

/// Heads as stored: sorted hex hashes joined by commas, the same form as `doc.heads`.
pub(crate) fn heads_text(heads: &[ChangeHash]) -> String {
    let mut hex: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    hex.sort();
    hex.join(",")
}

/// The persisted sync state of a document (a fresh one when it never synced).
pub(crate) fn load_state(conn: &Connection, doc_id: &str) -> Result<sync::State> {
    let stored: Option<Option<Vec<u8>>> = conn
        .prepare_cached("SELECT state FROM sync_doc WHERE doc_id = ?1")?
        .query_row([doc_id], |r| r.get(0))
        .optional()?;
    Ok(stored.flatten().and_then(|bytes| sync::State::decode(&bytes).ok()).unwrap_or_default())
}

/// Persists a document's sync state (its shared heads).
pub(crate) fn save_state(conn: &Connection, doc_id: &str, state: &sync::State) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_doc (doc_id, state, shared_heads) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc_id) DO UPDATE SET state = excluded.state, shared_heads = excluded.shared_heads",
    )?
    .execute(params![doc_id, state.encode(), heads_text(&state.shared_heads)])?;
    Ok(())
}

/// Forgets everything the device remembers about syncing one document: its sync state, the heads the
/// catalogue announced, the signatures held for its changes and a refusal.
pub(crate) fn forget(conn: &Connection, doc_id: &str) -> Result<()> {
    for table in ["sync_doc", "sync_signature", "sync_refused"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE doc_id = ?1"))?.execute([doc_id])?;
    }
    Ok(())
}

/// Records the heads the catalogue announced for a document; nothing is pending when they equal this
/// device's heads.
pub(crate) fn set_server_heads(conn: &Connection, doc_id: &str, heads: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_doc (doc_id, server_heads)
         VALUES (?1, CASE WHEN ?2 = COALESCE((SELECT heads FROM doc WHERE doc_id = ?1), '') THEN NULL ELSE ?2 END)
         ON CONFLICT (doc_id) DO UPDATE SET server_heads = excluded.server_heads",
    )?
    .execute(params![doc_id, heads])?;
    Ok(())
}

/// Clears a document's pending catalogue heads.
pub(crate) fn clear_server_heads(conn: &Connection, doc_id: &str) -> Result<()> {
    conn.prepare_cached("UPDATE sync_doc SET server_heads = NULL WHERE doc_id = ?1")?.execute([doc_id])?;
    Ok(())
}

/// Documents with something to say: changed here since the last sync, or announced by the catalogue with
/// heads this device has not reached; refused documents wait for the user (see `sync::refused`).
pub(crate) fn candidates(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.doc_id FROM doc d LEFT JOIN sync_doc s ON s.doc_id = d.doc_id
         WHERE d.heads != COALESCE(s.shared_heads, '')
         UNION
         SELECT s.doc_id FROM sync_doc s LEFT JOIN doc d ON d.doc_id = s.doc_id
         WHERE s.server_heads IS NOT NULL AND s.server_heads != COALESCE(d.heads, '')
         EXCEPT SELECT doc_id FROM sync_refused
         ORDER BY 1",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The catalogue cursor last received (0: never synced).
pub(crate) fn cursor(conn: &Connection) -> Result<u64> {
    Ok(meta_get(conn, META_CURSOR)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Stores the catalogue cursor.
pub(crate) fn set_cursor(conn: &Connection, cursor: u64) -> Result<()> {
    meta_set(conn, META_CURSOR, &cursor.to_string())
}

/// Signatures held for relayed changes of a document.
pub(crate) fn signatures(conn: &Connection, doc_id: &str) -> Result<Vec<ChangeSignature>> {
    let mut stmt =
        conn.prepare_cached("SELECT change_hash, device_id, signature FROM sync_signature WHERE doc_id = ?1")?;
    let rows = stmt.query_map([doc_id], |r| {
        Ok(ChangeSignature { change_hash: r.get(0)?, device_id: r.get(1)?, signature: r.get(2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Keeps signatures of relayed changes so they go up with the next sync.
pub(crate) fn store_signatures(conn: &Connection, doc_id: &str, sigs: &[ChangeSignature]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO sync_signature (change_hash, doc_id, device_id, signature) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for s in sigs {
        stmt.execute(params![s.change_hash, doc_id, s.device_id, s.signature])?;
    }
    Ok(())
}

/// A device's public key this device trusts: listed by the server, or presented by a verified bundle.
/// `None` for an unknown device or one the server listed as revoked.
pub(crate) fn device_key(conn: &Connection, device_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT public_key FROM device_key WHERE device_id = ?1 AND revoked = 0")?
        .query_row([device_id], |r| r.get(0))
        .optional()?)
}

/// True when the server listed the device as revoked.
pub(crate) fn device_revoked(conn: &Connection, device_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT revoked FROM device_key WHERE device_id = ?1")?
        .query_row([device_id], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// Remembers the key a verified bundle's exporter presented (a key already known is kept).
pub(crate) fn set_device_key(conn: &Connection, device_id: &str, public_key: &str) -> Result<()> {
    conn.execute("INSERT OR IGNORE INTO device_key (device_id, public_key) VALUES (?1, ?2)", [device_id, public_key])?;
    Ok(())
}

/// Records the keys the server listed: they replace whatever a bundle presented for the same devices.
pub(crate) fn set_server_keys(conn: &Connection, keys: &[DeviceKey]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO device_key (device_id, public_key, source, user, role, revoked) VALUES (?1, ?2, 'server', ?3, ?4, ?5)
         ON CONFLICT (device_id) DO UPDATE SET public_key = excluded.public_key, source = 'server',
             user = excluded.user, role = excluded.role, revoked = excluded.revoked",
    )?;
    for k in keys.iter().filter(|k| signing::valid_public_key(&k.public_key)) {
        stmt.execute(params![k.device_id, k.public_key, k.user, k.role, k.revoked])?;
    }
    Ok(())
}

/// Records a refusal (a later one for the same document replaces it).
pub(crate) fn record_refusal(conn: &Connection, r: &RefusedDocument) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_refused (doc_id, change_hash, code, message, refused_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (doc_id) DO UPDATE SET change_hash = excluded.change_hash, code = excluded.code,
             message = excluded.message, refused_at = excluded.refused_at",
    )?
    .execute(params![r.doc_id, r.change_hash, r.code, r.message, r.refused_at])?;
    Ok(())
}

/// The documents the server refused, oldest first.
pub(crate) fn refused_documents(conn: &Connection) -> Result<Vec<RefusedDocument>> {
    let mut stmt = conn.prepare_cached(
        "SELECT doc_id, change_hash, code, message, refused_at FROM sync_refused ORDER BY refused_at, doc_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RefusedDocument {
            doc_id: r.get(0)?,
            change_hash: r.get(1)?,
            code: r.get(2)?,
            message: r.get(3)?,
            refused_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Forgets every refusal; returns how many there were.
pub(crate) fn clear_refusals(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sync_refused", [])?)
}

/// When the last sync finished, as stored (RFC 3339).
pub(crate) fn last_sync(conn: &Connection) -> Result<Option<String>> {
    meta_get(conn, META_LAST_SYNC)
}

/// Records when the last sync finished (RFC 3339).
pub(crate) fn set_last_sync(conn: &Connection, at: &str) -> Result<()> {
    meta_set(conn, META_LAST_SYNC, at)
}
