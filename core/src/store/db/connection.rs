//! Opening the encrypted store file: the SQLCipher key and page HMAC, WAL, durability and cache pragmas,
//! and SQLite's own integrity check.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::store::KEY_LEN;

fn key_pragma(key: &[u8; KEY_LEN]) -> String {
    // A raw key (x'…') skips SQLCipher's passphrase derivation: the shell's keystore already holds 32 random
    // bytes, and deriving would cost ~100 ms on every open.
    format!("x'{}'", hex::encode(key))
}

/// How pages are authenticated. Every page written is encrypted (AES-256-CBC, SQLCipher's only cipher) and
/// signed; HMAC-SHA256 has hardware support on the phones' ARMv8 cores (and x86 SHA extensions) where
/// SHA-512, SQLCipher's default, runs in software: a durable change signs one page per B-tree page it
/// touches, so this is ≈ 7% of a report's time.
const PAGE_HMAC: &str = "HMAC_SHA256";
/// What stores written before [`PAGE_HMAC`] was set use (SQLCipher 4's default); they open with it.
const LEGACY_PAGE_HMAC: &str = "HMAC_SHA512";

pub(crate) fn connect(path: &Path, key: &[u8; KEY_LEN]) -> Result<Connection> {
    let existing = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
    match connect_with(path, key, PAGE_HMAC) {
        Err(Error::StoreKeyInvalid) if existing => {
            // A store from before the HMAC choice: readable with the old one; otherwise the key is wrong.
            connect_with(path, key, LEGACY_PAGE_HMAC).map_err(|_| Error::StoreKeyInvalid)
        }
        other => other,
    }
}

fn connect_with(path: &Path, key: &[u8; KEY_LEN], hmac: &str) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "key", key_pragma(key))?;
    // SQLCipher logs a failed page check to stderr once keyed; a wrong key is reported as our own error.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
    conn.execute_batch(&format!("PRAGMA cipher_hmac_algorithm = {hmac};"))?;
    // Reading the schema is the first access that decrypts a page: a wrong key fails here, before anything
    // is written.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Every page read from disk is decrypted (SQLCipher): a page cache that holds the materialised tables of
    // a busy community (16 MiB, against SQLite's 2 MiB default) keeps lists from decrypting them again on
    // every screen.
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// SQLite's `integrity_check` verdict for the store file (`"ok"` when sound).
pub(crate) fn integrity_check(conn: &Connection) -> Result<String> {
    Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
}
