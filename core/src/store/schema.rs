//! The device store's schema, as numbered migrations applied in order inside one transaction each.
//! `PRAGMA user_version` records how far a store has come.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Migrations, oldest first. Never edit one that has shipped: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: documents, blobs, and the materialised roster and check-in tables.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE doc (
        doc_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        grid TEXT,
        key TEXT,
        heads TEXT NOT NULL DEFAULT '',
        chunks INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        local_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE doc_chunk (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        snapshot INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX doc_chunk_by_doc ON doc_chunk(doc_id, seq);
    CREATE TABLE blob (
        hash TEXT PRIMARY KEY,
        mime TEXT NOT NULL,
        size INTEGER NOT NULL,
        data BLOB NOT NULL,
        created_at TEXT NOT NULL,
        uploaded INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE household (
        household_code TEXT PRIMARY KEY,
        grid TEXT NOT NULL,
        building TEXT NOT NULL,
        unit TEXT NOT NULL,
        floor INTEGER NOT NULL,
        room TEXT NOT NULL,
        moved_out INTEGER NOT NULL
    );
    CREATE INDEX household_by_grid ON household(grid);
    CREATE TABLE resident (
        household_code TEXT NOT NULL,
        name TEXT NOT NULL,
        grid TEXT NOT NULL,
        gender TEXT NOT NULL,
        birth_year INTEGER NOT NULL,
        phone TEXT,
        id_number TEXT,
        tags TEXT NOT NULL,
        notes TEXT NOT NULL,
        moved_out INTEGER NOT NULL,
        PRIMARY KEY (household_code, name)
    );
    CREATE INDEX resident_by_grid ON resident(grid);
    CREATE TABLE check_in (
        check_in_id TEXT PRIMARY KEY,
        grid TEXT NOT NULL,
        household_code TEXT NOT NULL,
        kind TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        note TEXT NOT NULL,
        photos TEXT NOT NULL,
        author TEXT NOT NULL,
        device_id TEXT NOT NULL,
        lat REAL,
        lon REAL
    );
    CREATE INDEX check_in_by_household ON check_in(household_code, at);
    CREATE INDEX check_in_by_day ON check_in(grid, day);
    -- The latest contact per household, resident ('' = the whole household) and intensity level
    -- (0 seen, 1 phone, 2 door, 3 home): what the due-date rules need, kept by max-upsert.
    CREATE TABLE last_contact (
        household_code TEXT NOT NULL,
        resident TEXT NOT NULL,
        level INTEGER NOT NULL,
        day TEXT NOT NULL,
        PRIMARY KEY (household_code, resident, level)
    ) WITHOUT ROWID;
    "#,
    // 2: incidents (materialised from incident documents: list, queues, ledger). Everything here is derived
    // by replaying the incident's event list (`workflow::replay`) and rewritten whole on every change.
    r#"
    CREATE TABLE incident (
        incident_id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        grid TEXT NOT NULL,
        household_code TEXT,
        category TEXT NOT NULL,
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        photos TEXT NOT NULL,
        lat REAL,
        lon REAL,
        check_in_id TEXT,
        stage TEXT NOT NULL,
        reporter TEXT NOT NULL,
        reporter_role TEXT,
        reported_at TEXT NOT NULL,
        stage_since TEXT NOT NULL,
        deadline_from TEXT,
        -- UTC RFC 3339 (`…Z`), so that text order is time order.
        deadline TEXT,
        waiting_for TEXT NOT NULL,
        reopen_count INTEGER NOT NULL DEFAULT 0,
        satisfied INTEGER,
        assignee TEXT,
        duplicate_of TEXT,
        committee_notified INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        event_count INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX incident_by_stage ON incident(stage, severity);
    CREATE INDEX incident_by_grid ON incident(grid, stage);
    CREATE INDEX incident_by_deadline ON incident(deadline) WHERE deadline IS NOT NULL;
    CREATE INDEX incident_by_waiting ON incident(waiting_for, stage);
    -- Every workflow event in document order; applied = 0 for superseded events.
    CREATE TABLE incident_event (
        incident_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        device TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL,
        applied INTEGER NOT NULL,
        stage_after TEXT,
        superseded_reason TEXT,
        note TEXT NOT NULL,
        assignee TEXT,
        duplicate_of TEXT,
        satisfied INTEGER,
        photos TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX incident_event_by_time ON incident_event(at);
    "#,
    // 3: home visits (materialised from visit logs: visits due, assessment, ledger) and the follow-ups they
    //    ask for. Visits also count as contacts in `last_contact`.
    r#"
    CREATE TABLE visit (
        visit_id TEXT PRIMARY KEY,
        grid TEXT NOT NULL,
        household_code TEXT NOT NULL,
        residents TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        duration_min INTEGER,
        services TEXT NOT NULL,
        needs TEXT NOT NULL,
        need_tags TEXT NOT NULL,
        follow_up TEXT,
        satisfaction INTEGER,
        photos TEXT NOT NULL,
        author TEXT NOT NULL,
        device_id TEXT NOT NULL
    );
    CREATE INDEX visit_by_day ON visit(grid, day);
    CREATE INDEX visit_by_author ON visit(author, day);
    CREATE INDEX visit_by_household ON visit(household_code, day);
    -- A follow-up a visit asked for: a contact of at least `level` for `resident` ('' = the household) due on
    -- `due`; open until a later contact satisfies it (decided by schedule.rs, not stored).
    CREATE TABLE follow_up (
        visit_id TEXT NOT NULL,
        resident TEXT NOT NULL,
        household_code TEXT NOT NULL,
        grid TEXT NOT NULL,
        level INTEGER NOT NULL,
        due TEXT NOT NULL,
        set_on TEXT NOT NULL,
        PRIMARY KEY (visit_id, resident)
    ) WITHOUT ROWID;
    CREATE INDEX follow_up_by_grid ON follow_up(grid, due);
    "#,
    // 4: reserved for sync state.
    "",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the store up to [`SCHEMA_VERSION`]; refuses a store from a newer build.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::StoreTooNew { found, supported: SCHEMA_VERSION });
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (n + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
