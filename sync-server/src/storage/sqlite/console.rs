//! The console's tables in the SQLite backend (schema 3).

use rusqlite::{params, OptionalExtension};

use super::{insert_device, role_of, SqliteStorage};
use crate::error::Result;
use crate::storage::{AuditEntry, Community, ConsoleStorage, Device, ResponseTemplate, SavedView, Session, Staff};

/// Schema 3: staff accounts (the unused table of schema 1 is replaced), sessions, the setup link, the audit
/// log, saved views and response templates.
pub(super) const SCHEMA_3: &str = "
DROP TABLE IF EXISTS staff;
CREATE TABLE staff (
    staff_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, user TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE console_session (
    token_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, csrf TEXT NOT NULL, created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL);
CREATE INDEX console_session_by_staff ON console_session (staff_id);
CREATE TABLE setup_token (token_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, community_id TEXT NOT NULL, user TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, address TEXT NOT NULL);
CREATE INDEX audit_by_community ON audit_log (community_id, id);
CREATE TABLE saved_view (
    view_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, name TEXT NOT NULL, query TEXT NOT NULL,
    created_by TEXT NOT NULL);
CREATE TABLE response_template (
    template_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, category TEXT NOT NULL, action TEXT NOT NULL,
    text TEXT NOT NULL);
";

/// Schema 4: failed sign-ins per account and address, counted for every process on the file.
pub(super) const SCHEMA_4: &str = "
CREATE TABLE sign_in_throttle (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, since INTEGER NOT NULL);
CREATE INDEX sign_in_throttle_by_since ON sign_in_throttle (since);
";

const STAFF_COLUMNS: &str = "staff_id, community_id, user, role, disabled, created_at";

fn staff_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Staff> {
    Ok(Staff {
        staff_id: r.get(0)?,
        community_id: r.get(1)?,
        user: r.get(2)?,
        role: role_of(r.get(3)?)?,
        disabled: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        token_hash: r.get(0)?,
        staff_id: r.get(1)?,
        csrf: r.get(2)?,
        created_at: r.get(3)?,
        last_seen: r.get(4)?,
    })
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        community_id: r.get(2)?,
        user: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        detail: r.get(6)?,
        address: r.get(7)?,
    })
}

impl ConsoleStorage for SqliteStorage {
    fn communities(&self) -> Result<Vec<Community>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT community_id, name FROM community ORDER BY created_at, community_id")?;
            let rows = stmt.query_map([], |r| Ok(Community { community_id: r.get(0)?, name: r.get(1)? }))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_staff(&self, s: &Staff, password_hash: &str, device: &Device) -> Result<bool> {
        self.write(|tx| {
            let taken: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM staff WHERE user = ?1)", [&s.user], |r| r.get(0))?;
            if taken {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO staff (staff_id, community_id, user, role, password_hash, disabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
                params![s.staff_id, s.community_id, s.user, s.role.code(), password_hash, s.created_at],
            )?;
            // The device row's token is a secret nobody holds: the account signs in with its password only.
            let unusable = format!("staff:{}", crate::access::new_token()?);
            insert_device(tx, device, &crate::access::hash_secret(&unusable))?;
            Ok(true)
        })
    }

    fn staff_by_user(&self, user: &str) -> Result<Option<(Staff, String)>> {
        let sql = format!("SELECT {STAFF_COLUMNS}, password_hash FROM staff WHERE user = ?1");
        self.read(|conn| {
            Ok(conn.prepare_cached(&sql)?.query_row([user], |r| Ok((staff_row(r)?, r.get(6)?))).optional()?)
        })
    }

    fn staff(&self, staff_id: &str) -> Result<Option<Staff>> {
        let sql = format!("SELECT {STAFF_COLUMNS} FROM staff WHERE staff_id = ?1");
        self.read(|conn| Ok(conn.prepare_cached(&sql)?.query_row([staff_id], staff_row).optional()?))
    }

    fn staff_list(&self, community_id: Option<&str>) -> Result<Vec<Staff>> {
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff WHERE ?1 IS NULL OR community_id = ?1 ORDER BY community_id, user"
        );
        self.read(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([community_id], staff_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn staff_count(&self) -> Result<u64> {
        self.read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get::<_, i64>(0))? as u64))
    }

    fn set_staff_password(&self, staff_id: &str, password_hash: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute("UPDATE staff SET password_hash = ?2 WHERE staff_id = ?1", params![staff_id, password_hash])?;
            tx.execute("DELETE FROM console_session WHERE staff_id = ?1", [staff_id])?;
            Ok(n > 0)
        })
    }

    fn disable_staff(&self, staff_id: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute("UPDATE staff SET disabled = 1 WHERE staff_id = ?1", [staff_id])?;
            tx.execute("DELETE FROM console_session WHERE staff_id = ?1", [staff_id])?;
            tx.execute("UPDATE device SET revoked = 1 WHERE device_id = ?1", [staff_id])?;
            Ok(n > 0)
        })
    }

    fn put_session(&self, s: &Session) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO console_session (token_hash, staff_id, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.staff_id, s.csrf, s.created_at, s.last_seen],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT token_hash, staff_id, csrf, created_at, last_seen FROM console_session WHERE token_hash = ?1",
                )?
                .query_row([token_hash], session_row)
                .optional()?)
        })
    }

    fn touch_session(&self, token_hash: &str, last_seen: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE console_session SET last_seen = ?2 WHERE token_hash = ?1",
                params![token_hash, last_seen],
            )?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM console_session WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
    }

    fn put_setup_token(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM setup_token", [])?;
            tx.execute(
                "INSERT INTO setup_token (token_hash, expires_at) VALUES (?1, ?2)",
                params![token_hash, expires_at],
            )?;
            Ok(())
        })
    }

    fn take_setup_token(&self, token_hash: &str, now: i64) -> Result<bool> {
        self.write(|tx| {
            let staff: i64 = tx.query_row("SELECT COUNT(*) FROM staff", [], |r| r.get(0))?;
            let n = tx.execute(
                "DELETE FROM setup_token WHERE token_hash = ?1 AND expires_at > ?2",
                params![token_hash, now],
            )?;
            Ok(n > 0 && staff == 0)
        })
    }

    fn setup_token_valid(&self, token_hash: &str, now: i64) -> Result<bool> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM setup_token WHERE token_hash = ?1 AND expires_at > ?2)
                 AND NOT EXISTS (SELECT 1 FROM staff)",
                params![token_hash, now],
                |r| r.get(0),
            )?)
        })
    }

    fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at, community_id, user, action, target, detail, address)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![e.at, e.community_id, e.user, e.action, e.target, e.detail, e.address],
            )?;
            Ok(())
        })
    }

    fn audit(&self, community_id: &str, before: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, at, community_id, user, action, target, detail, address FROM audit_log
                 WHERE community_id IN (?1, '') AND id < ?2 ORDER BY id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![community_id, before.unwrap_or(i64::MAX), limit as i64], audit_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn throttle_failed(&self, keys: &[&str], now: i64, window: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM sign_in_throttle WHERE since <= ?1")?.execute([now - window])?;
            let mut count = tx.prepare_cached(
                "INSERT INTO sign_in_throttle (key, failures, since) VALUES (?1, 1, ?2)
                 ON CONFLICT (key) DO UPDATE SET failures = failures + 1",
            )?;
            for key in keys {
                count.execute(params![key, now])?;
            }
            Ok(())
        })
    }

    fn throttle_failures(&self, key: &str, now: i64, window: i64) -> Result<u32> {
        self.read(|conn| {
            let n: Option<i64> = conn
                .prepare_cached("SELECT failures FROM sign_in_throttle WHERE key = ?1 AND since > ?2")?
                .query_row(params![key, now - window], |r| r.get(0))
                .optional()?;
            Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
        })
    }

    fn throttle_clear(&self, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sign_in_throttle WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    fn put_view(&self, v: &SavedView) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO saved_view (view_id, community_id, name, query, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![v.view_id, v.community_id, v.name, v.query, v.created_by],
            )?;
            Ok(())
        })
    }

    fn views(&self, community_id: &str) -> Result<Vec<SavedView>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT view_id, community_id, name, query, created_by FROM saved_view WHERE community_id = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([community_id], |r| {
                Ok(SavedView {
                    view_id: r.get(0)?,
                    community_id: r.get(1)?,
                    name: r.get(2)?,
                    query: r.get(3)?,
                    created_by: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn delete_view(&self, community_id: &str, view_id: &str) -> Result<bool> {
        self.write(|tx| {
            let n =
                tx.execute("DELETE FROM saved_view WHERE community_id = ?1 AND view_id = ?2", [community_id, view_id])?;
            Ok(n > 0)
        })
    }

    fn put_template(&self, t: &ResponseTemplate) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO response_template (template_id, community_id, category, action, text)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.template_id, t.community_id, t.category, t.action, t.text],
            )?;
            Ok(())
        })
    }

    fn templates(&self, community_id: &str) -> Result<Vec<ResponseTemplate>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT template_id, community_id, category, action, text FROM response_template
                 WHERE community_id = ?1 ORDER BY action, category, text",
            )?;
            let rows = stmt.query_map([community_id], |r| {
                Ok(ResponseTemplate {
                    template_id: r.get(0)?,
                    community_id: r.get(1)?,
                    category: r.get(2)?,
                    action: r.get(3)?,
                    text: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn delete_template(&self, community_id: &str, template_id: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM response_template WHERE community_id = ?1 AND template_id = ?2",
                [community_id, template_id],
            )?;
            Ok(n > 0)
        })
    }
}
