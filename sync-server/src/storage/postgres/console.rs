//! The console's tables in the PostgreSQL backend (schema 2): the same rows and answers as SQLite's schema 3.

use tokio_postgres::Row;

/// Schema 4: failed sign-ins per account and address, counted for every instance on the database.
pub(super) const SCHEMA_4: &str = "
CREATE TABLE sign_in_throttle (key TEXT PRIMARY KEY, failures BIGINT NOT NULL, since BIGINT NOT NULL);
CREATE INDEX sign_in_throttle_by_since ON sign_in_throttle (since);
";

use super::{insert_device, role_of, to_i64, to_u64, PgStorage};
use crate::error::Result;
use crate::storage::{AuditEntry, Community, ConsoleStorage, Device, ResponseTemplate, SavedView, Session, Staff};

/// Schema 2: staff accounts, sessions, the setup link, the audit log, saved views and response templates.
pub(super) const SCHEMA_2: &str = "
CREATE TABLE staff (
    staff_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, user_name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE, created_at BIGINT NOT NULL);
CREATE TABLE console_session (
    token_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, csrf TEXT NOT NULL, created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL);
CREATE INDEX console_session_by_staff ON console_session (staff_id);
CREATE TABLE setup_token (token_hash TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, community_id TEXT NOT NULL, user_name TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, address TEXT NOT NULL);
CREATE INDEX audit_by_community ON audit_log (community_id, id);
CREATE TABLE saved_view (
    view_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, name TEXT NOT NULL, query TEXT NOT NULL,
    created_by TEXT NOT NULL);
CREATE TABLE response_template (
    template_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, category TEXT NOT NULL, action TEXT NOT NULL,
    text TEXT NOT NULL);
";

const STAFF_COLUMNS: &str = "staff_id, community_id, user_name, role, disabled, created_at";

fn staff_row(r: &Row) -> Result<Staff> {
    Ok(Staff {
        staff_id: r.try_get(0)?,
        community_id: r.try_get(1)?,
        user: r.try_get(2)?,
        role: role_of(r.try_get(3)?)?,
        disabled: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

fn session_row(r: &Row) -> Result<Session> {
    Ok(Session {
        token_hash: r.try_get(0)?,
        staff_id: r.try_get(1)?,
        csrf: r.try_get(2)?,
        created_at: r.try_get(3)?,
        last_seen: r.try_get(4)?,
    })
}

fn audit_row(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        community_id: r.try_get(2)?,
        user: r.try_get(3)?,
        action: r.try_get(4)?,
        target: r.try_get(5)?,
        detail: r.try_get(6)?,
        address: r.try_get(7)?,
    })
}

fn view_row(r: &Row) -> Result<SavedView> {
    Ok(SavedView {
        view_id: r.try_get(0)?,
        community_id: r.try_get(1)?,
        name: r.try_get(2)?,
        query: r.try_get(3)?,
        created_by: r.try_get(4)?,
    })
}

fn template_row(r: &Row) -> Result<ResponseTemplate> {
    Ok(ResponseTemplate {
        template_id: r.try_get(0)?,
        community_id: r.try_get(1)?,
        category: r.try_get(2)?,
        action: r.try_get(3)?,
        text: r.try_get(4)?,
    })
}

// Lists are ordered with the "C" collation: byte order, as SQLite sorts, whatever locale the database has.
impl ConsoleStorage for PgStorage {
    fn communities(&self) -> Result<Vec<Community>> {
        self.read(async |client| {
            let rows = client
                .query("SELECT community_id, name FROM community ORDER BY created_at, community_id COLLATE \"C\"", &[])
                .await?;
            rows.iter().map(|r| Ok(Community { community_id: r.try_get(0)?, name: r.try_get(1)? })).collect()
        })
    }

    fn create_staff(&self, s: &Staff, password_hash: &str, device: &Device) -> Result<bool> {
        self.write(async |tx| {
            // The unique name decides between two accounts created at once: the second inserts nothing.
            let n = tx
                .execute(
                    "INSERT INTO staff (staff_id, community_id, user_name, role, password_hash, disabled, created_at)
                     VALUES ($1, $2, $3, $4, $5, FALSE, $6) ON CONFLICT (user_name) DO NOTHING",
                    &[&s.staff_id, &s.community_id, &s.user, &s.role.code(), &password_hash, &s.created_at],
                )
                .await?;
            if n == 0 {
                return Ok(false);
            }
            // The device row's token is a secret nobody holds: the account signs in with its password only.
            let unusable = format!("staff:{}", crate::access::new_token()?);
            insert_device(tx, device, &crate::access::hash_secret(&unusable)).await?;
            Ok(true)
        })
    }

    fn staff_by_user(&self, user: &str) -> Result<Option<(Staff, String)>> {
        let sql = format!("SELECT {STAFF_COLUMNS}, password_hash FROM staff WHERE user_name = $1");
        self.read(async |client| match client.query_opt(&sql, &[&user]).await? {
            Some(r) => Ok(Some((staff_row(&r)?, r.try_get(6)?))),
            None => Ok(None),
        })
    }

    fn staff(&self, staff_id: &str) -> Result<Option<Staff>> {
        let sql = format!("SELECT {STAFF_COLUMNS} FROM staff WHERE staff_id = $1");
        self.read(async |client| client.query_opt(&sql, &[&staff_id]).await?.as_ref().map(staff_row).transpose())
    }

    fn staff_list(&self, community_id: Option<&str>) -> Result<Vec<Staff>> {
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff WHERE $1::TEXT IS NULL OR community_id = $1
             ORDER BY community_id COLLATE \"C\", user_name COLLATE \"C\""
        );
        self.read(async |client| client.query(&sql, &[&community_id]).await?.iter().map(staff_row).collect())
    }

    fn staff_count(&self) -> Result<u64> {
        self.read(async |client| Ok(to_u64(client.query_one("SELECT COUNT(*) FROM staff", &[]).await?.try_get(0)?)))
    }

    fn set_staff_password(&self, staff_id: &str, password_hash: &str) -> Result<bool> {
        self.write(async |tx| {
            let n = tx
                .execute("UPDATE staff SET password_hash = $2 WHERE staff_id = $1", &[&staff_id, &password_hash])
                .await?;
            tx.execute("DELETE FROM console_session WHERE staff_id = $1", &[&staff_id]).await?;
            Ok(n > 0)
        })
    }

    fn disable_staff(&self, staff_id: &str) -> Result<bool> {
        self.write(async |tx| {
            let n = tx.execute("UPDATE staff SET disabled = TRUE WHERE staff_id = $1", &[&staff_id]).await?;
            tx.execute("DELETE FROM console_session WHERE staff_id = $1", &[&staff_id]).await?;
            tx.execute("UPDATE device SET revoked = TRUE WHERE device_id = $1", &[&staff_id]).await?;
            Ok(n > 0)
        })
    }

    fn put_session(&self, s: &Session) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "INSERT INTO console_session (token_hash, staff_id, csrf, created_at, last_seen)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&s.token_hash, &s.staff_id, &s.csrf, &s.created_at, &s.last_seen],
            )
            .await?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        self.read(async |client| {
            client
                .query_opt(
                    "SELECT token_hash, staff_id, csrf, created_at, last_seen FROM console_session WHERE token_hash = $1",
                    &[&token_hash],
                )
                .await?
                .as_ref()
                .map(session_row)
                .transpose()
        })
    }

    fn touch_session(&self, token_hash: &str, last_seen: i64) -> Result<()> {
        self.write(async |tx| {
            tx.execute("UPDATE console_session SET last_seen = $2 WHERE token_hash = $1", &[&token_hash, &last_seen])
                .await?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write(async |tx| {
            tx.execute("DELETE FROM console_session WHERE token_hash = $1", &[&token_hash]).await?;
            Ok(())
        })
    }

    fn put_setup_token(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.write(async |tx| {
            tx.execute("DELETE FROM setup_token", &[]).await?;
            tx.execute("INSERT INTO setup_token (token_hash, expires_at) VALUES ($1, $2)", &[&token_hash, &expires_at])
                .await?;
            Ok(())
        })
    }

    fn take_setup_token(&self, token_hash: &str, now: i64) -> Result<bool> {
        self.write(async |tx| {
            let staff: i64 = tx.query_one("SELECT COUNT(*) FROM staff", &[]).await?.try_get(0)?;
            let n = tx
                .execute("DELETE FROM setup_token WHERE token_hash = $1 AND expires_at > $2", &[&token_hash, &now])
                .await?;
            Ok(n > 0 && staff == 0)
        })
    }

    fn setup_token_valid(&self, token_hash: &str, now: i64) -> Result<bool> {
        self.read(async |client| {
            Ok(client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM setup_token WHERE token_hash = $1 AND expires_at > $2)
                     AND NOT EXISTS (SELECT 1 FROM staff)",
                    &[&token_hash, &now],
                )
                .await?
                .try_get(0)?)
        })
    }

    fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "INSERT INTO audit_log (at, community_id, user_name, action, target, detail, address)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&e.at, &e.community_id, &e.user, &e.action, &e.target, &e.detail, &e.address],
            )
            .await?;
            Ok(())
        })
    }

    fn audit(&self, community_id: &str, before: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(async |client| {
            client
                .query(
                    "SELECT id, at, community_id, user_name, action, target, detail, address FROM audit_log
                     WHERE community_id IN ($1, '') AND id < $2 ORDER BY id DESC LIMIT $3",
                    &[&community_id, &before.unwrap_or(i64::MAX), &to_i64(limit as u64)],
                )
                .await?
                .iter()
                .map(audit_row)
                .collect()
        })
    }

    fn throttle_failed(&self, keys: &[&str], now: i64, window: i64) -> Result<()> {
        self.write(async |tx| {
            tx.execute("DELETE FROM sign_in_throttle WHERE since <= $1", &[&(now - window)]).await?;
            let count = tx
                .prepare_cached(
                    "INSERT INTO sign_in_throttle (key, failures, since) VALUES ($1, 1, $2)
                     ON CONFLICT (key) DO UPDATE SET failures = sign_in_throttle.failures + 1",
                )
                .await?;
            for key in keys {
                tx.execute(&count, &[key, &now]).await?;
            }
            Ok(())
        })
    }

    fn throttle_failures(&self, key: &str, now: i64, window: i64) -> Result<u32> {
        self.read(async |client| {
            let row = client
                .query_opt(
                    "SELECT failures FROM sign_in_throttle WHERE key = $1 AND since > $2",
                    &[&key, &(now - window)],
                )
                .await?;
            let n: i64 = row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    fn throttle_clear(&self, key: &str) -> Result<()> {
        self.write(async |tx| {
            tx.execute("DELETE FROM sign_in_throttle WHERE key = $1", &[&key]).await?;
            Ok(())
        })
    }

    fn put_view(&self, v: &SavedView) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "INSERT INTO saved_view (view_id, community_id, name, query, created_by) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (view_id) DO UPDATE SET community_id = excluded.community_id, name = excluded.name,
                   query = excluded.query, created_by = excluded.created_by",
                &[&v.view_id, &v.community_id, &v.name, &v.query, &v.created_by],
            )
            .await?;
            Ok(())
        })
    }

    fn views(&self, community_id: &str) -> Result<Vec<SavedView>> {
        self.read(async |client| {
            client
                .query(
                    "SELECT view_id, community_id, name, query, created_by FROM saved_view WHERE community_id = $1
                     ORDER BY name COLLATE \"C\"",
                    &[&community_id],
                )
                .await?
                .iter()
                .map(view_row)
                .collect()
        })
    }

    fn delete_view(&self, community_id: &str, view_id: &str) -> Result<bool> {
        self.write(async |tx| {
            let n = tx
                .execute("DELETE FROM saved_view WHERE community_id = $1 AND view_id = $2", &[&community_id, &view_id])
                .await?;
            Ok(n > 0)
        })
    }

    fn put_template(&self, t: &ResponseTemplate) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "INSERT INTO response_template (template_id, community_id, category, action, text)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (template_id) DO UPDATE SET community_id = excluded.community_id,
                   category = excluded.category, action = excluded.action, text = excluded.text",
                &[&t.template_id, &t.community_id, &t.category, &t.action, &t.text],
            )
            .await?;
            Ok(())
        })
    }

    fn templates(&self, community_id: &str) -> Result<Vec<ResponseTemplate>> {
        self.read(async |client| {
            client
                .query(
                    "SELECT template_id, community_id, category, action, text FROM response_template
                     WHERE community_id = $1 ORDER BY action COLLATE \"C\", category COLLATE \"C\", text COLLATE \"C\"",
                    &[&community_id],
                )
                .await?
                .iter()
                .map(template_row)
                .collect()
        })
    }

    fn delete_template(&self, community_id: &str, template_id: &str) -> Result<bool> {
        self.write(async |tx| {
            let n = tx
                .execute(
                    "DELETE FROM response_template WHERE community_id = $1 AND template_id = $2",
                    &[&community_id, &template_id],
                )
                .await?;
            Ok(n > 0)
        })
    }
}
