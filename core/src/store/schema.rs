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
    // 4: sync with the server and offline hand-off.
    r#"
    -- Per document: the Automerge sync state with the server (its encoded shared heads), the same heads as
    -- sorted comma-joined text so "changed since the last sync" is a comparison with doc.heads, and the heads
    -- the server's catalogue advertised that this device has not reached yet (NULL: nothing to fetch).
    CREATE TABLE sync_doc (
        doc_id TEXT PRIMARY KEY,
        state BLOB,
        shared_heads TEXT NOT NULL DEFAULT '',
        server_heads TEXT
    );
    CREATE INDEX sync_doc_pending ON sync_doc(server_heads) WHERE server_heads IS NOT NULL;
    -- Signatures of other devices over changes this device relays (received in a hand-off bundle).
    CREATE TABLE sync_signature (
        change_hash TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE INDEX sync_signature_by_doc ON sync_signature(doc_id);
    -- Public keys of devices seen in hand-off bundles.
    CREATE TABLE device_key (device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL);
    -- Photos waiting for upload: failed attempts and when to try again.
    CREATE TABLE blob_outbox (
        hash TEXT PRIMARY KEY,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL DEFAULT '',
        last_error TEXT NOT NULL DEFAULT ''
    );
    "#,
    // 5: a leaner write path. A durable change costs one encrypted page and one WAL frame per B-tree page it
    //    touches, so documents and incidents are keyed by what they are looked up by (WITHOUT ROWID: no
    //    separate key index), a new document's first chunk stays in its row, chunks no longer take a global
    //    AUTOINCREMENT (`sqlite_sequence` was one more page per change; a rowid table still appends cheaply,
    //    where a WITHOUT ROWID one rebalances pages of large rows), and incidents have no secondary index: a community's incidents (≤ 10,000)
    //    scan in ≈ 3 ms, a list of thousands of them costs its rows whatever the plan, and each index cost
    //    every report and action one more encrypted page.
    r#"
    CREATE TABLE doc_v5 (
        doc_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        grid TEXT,
        key TEXT,
        heads TEXT NOT NULL DEFAULT '',
        chunks INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        local_seq INTEGER NOT NULL DEFAULT 0,
        -- A new document's first chunk, kept in its row until the next chunk moves it to doc_chunk: creating
        -- a document (every incident report) writes one row, not a row, a chunk and the chunk's index entry.
        head BLOB
    ) WITHOUT ROWID;
    INSERT INTO doc_v5 (doc_id, kind, grid, key, heads, chunks, bytes, updated_at, local_seq)
        SELECT doc_id, kind, grid, key, heads, chunks, bytes, updated_at, local_seq FROM doc;
    DROP TABLE doc;
    ALTER TABLE doc_v5 RENAME TO doc;
    -- seq orders a document's chunks (a snapshot, then changes in the order they were saved).
    CREATE TABLE doc_chunk_v5 (
        seq INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL,
        snapshot INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    INSERT INTO doc_chunk_v5 SELECT seq, doc_id, snapshot, data FROM doc_chunk;
    DROP TABLE doc_chunk;
    ALTER TABLE doc_chunk_v5 RENAME TO doc_chunk;
    CREATE INDEX doc_chunk_by_doc ON doc_chunk(doc_id, seq);
    DELETE FROM sqlite_sequence WHERE name = 'doc_chunk';
    CREATE TABLE incident_v5 (
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
    ) WITHOUT ROWID;
    INSERT INTO incident_v5 SELECT * FROM incident;
    DROP TABLE incident;
    ALTER TABLE incident_v5 RENAME TO incident;
    DROP INDEX incident_event_by_time;
    "#,
    // 6: keys learned from the server, and documents the server refused. A key's source says how far it is
    //    trusted: one the server listed (`server`) replaces any other, one a verified bundle presented
    //    (`bundle`) is kept only while nothing contradicts it. A refused document is left out of sync until
    //    the user asks to retry it.
    r#"
    ALTER TABLE device_key ADD COLUMN source TEXT NOT NULL DEFAULT 'bundle';
    ALTER TABLE device_key ADD COLUMN user TEXT;
    ALTER TABLE device_key ADD COLUMN role TEXT;
    ALTER TABLE device_key ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sync_refused (
        doc_id TEXT PRIMARY KEY,
        change_hash TEXT,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        refused_at TEXT NOT NULL
    );
    "#,
    // 7: service orders (materialised from order documents: "my orders", the order queue, detail). Everything
    //    here is derived by replaying the order's event list (`service_workflow::replay`) and rewritten whole
    //    on every change; overdue is worked out when read (it moves with the day, not with the document). Like
    //    incidents, no secondary index: a community's open orders scan in a few milliseconds.
    r#"
    CREATE TABLE service_order (
        order_id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        grid TEXT NOT NULL,
        household_code TEXT NOT NULL,
        resident TEXT,
        address TEXT NOT NULL,
        phone TEXT,
        service TEXT NOT NULL,
        note TEXT NOT NULL,
        from_visit TEXT,
        stage TEXT NOT NULL,
        stage_since TEXT NOT NULL,
        requester TEXT NOT NULL,
        requester_role TEXT,
        requested_at TEXT NOT NULL,
        -- The volunteer it is dispatched to now (kept after done, evaluated and cancelled).
        volunteer TEXT,
        -- YYYY-MM-DD, so that text order is day order.
        due TEXT,
        rating INTEGER,
        done_at TEXT,
        evaluated_at TEXT,
        event_count INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    -- Every workflow event in document order; applied = 0 for superseded events.
    CREATE TABLE service_order_event (
        order_id TEXT NOT NULL,
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
        volunteer TEXT,
        due TEXT,
        rating INTEGER,
        photos TEXT NOT NULL,
        PRIMARY KEY (order_id, seq)
    ) WITHOUT ROWID;
    "#,
    // 8: service projects (materialised from project documents: the project list, detail and ratings, the
    //    needs list's links, the ledger). Everything here is derived by `project::replay` and
    //    `project::ratings` and rewritten whole on every change of the project.
    r#"
    CREATE TABLE project (
        project_id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        title TEXT NOT NULL,
        category TEXT NOT NULL,
        organisation TEXT NOT NULL,
        budget_yuan INTEGER,
        -- Need codes, ';'-joined.
        needs TEXT NOT NULL,
        from_day TEXT,
        to_day TEXT,
        status TEXT NOT NULL,
        status_since TEXT,
        done_at TEXT,
        created_by TEXT NOT NULL,
        created_role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        rating_count INTEGER NOT NULL,
        rating_average REAL
    ) WITHOUT ROWID;
    -- Every status event in replay order; applied = 0 for superseded events.
    CREATE TABLE project_event (
        project_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        status TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL,
        applied INTEGER NOT NULL,
        status_after TEXT NOT NULL,
        superseded_reason TEXT,
        note TEXT NOT NULL,
        PRIMARY KEY (project_id, seq)
    ) WITHOUT ROWID;
    -- Every resident's rating in replay order, with what became of it (stands, replaced …).
    CREATE TABLE project_rating (
        project_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        rating_id TEXT NOT NULL,
        household_code TEXT NOT NULL,
        grid TEXT NOT NULL,
        building TEXT NOT NULL,
        rating INTEGER NOT NULL,
        note TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        replaced_by TEXT,
        PRIMARY KEY (project_id, seq)
    ) WITHOUT ROWID;
    "#,
    // 9: the two-way evaluation (双评议): every residents' survey and department rating as recorded (entries are
    //    append-only, so rows are only ever added). Which one of a household or a department stands, and the
    //    averages, are `evaluation`'s, worked out when read.
    r#"
    CREATE TABLE survey (
        survey_id TEXT PRIMARY KEY,
        year INTEGER NOT NULL,
        grid TEXT NOT NULL,
        household_code TEXT NOT NULL,
        building TEXT NOT NULL,
        answers TEXT NOT NULL,
        visit_id TEXT,
        actor TEXT NOT NULL,
        device TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX survey_by_year ON survey(year, grid, household_code);
    CREATE TABLE department_rating (
        rating_id TEXT PRIMARY KEY,
        year INTEGER NOT NULL,
        department TEXT NOT NULL,
        scores TEXT NOT NULL,
        actor TEXT NOT NULL,
        device TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX department_rating_by_year ON department_rating(year, department);
    "#,
    // 10: the codes of the items a survey answered and of the aspects a rating scored, in order, so a later
    //     change of the configuration never shifts an answer onto another item ('' for rows of entries
    //     recorded before: their answers follow the configuration's order).
    r#"
    ALTER TABLE survey ADD COLUMN items TEXT NOT NULL DEFAULT '';
    ALTER TABLE department_rating ADD COLUMN aspects TEXT NOT NULL DEFAULT '';
    "#,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A store at schema 4 with documents and an incident comes through migration 5 with every row, each
    /// document's chunks in their order, and the incident tables without secondary indexes.
    #[test]
    fn migration_5_keeps_every_row_and_chunk_order() {
        let mut conn = Connection::open_in_memory().expect("db");
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 4).expect("version");
        conn.execute_batch(
            "INSERT INTO doc (doc_id, kind, heads, chunks, updated_at) VALUES ('a', 'incident', 'h1', 2, 't'),
                 ('b', 'checkins', 'h2', 2, 't');
             INSERT INTO doc_chunk (doc_id, snapshot, data) VALUES ('a', 1, x'01'), ('b', 1, x'10'), ('a', 0, x'02'),
                 ('b', 0, x'11');
             INSERT INTO incident VALUES ('i1', 'a', 'G01', NULL, 'other', 'normal', 'T', '', '', NULL, NULL, NULL,
                 'committee_review', 'wang', 'grid_leader', 't0', 't0', 't0', '2026-11-25T00:00:00Z', 'committee', 0,
                 NULL, NULL, NULL, 0, 1, 2, 't1');
             INSERT INTO incident_event (incident_id, seq, event_id, action, actor, device, role, at, applied, note,
                 photos) VALUES ('i1', 0, 'e0', 'report', 'wang', 'd', 'grid_leader', 't0', 1, '', '');",
        )
        .expect("rows");
        migrate(&mut conn).expect("migrate");
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        let chunks = |doc: &str| -> Vec<u8> {
            let mut stmt = conn.prepare("SELECT data FROM doc_chunk WHERE doc_id = ?1 ORDER BY seq").expect("q");
            let rows = stmt.query_map([doc], |r| r.get::<_, Vec<u8>>(0)).expect("rows");
            rows.map(|r| r.expect("row")[0]).collect()
        };
        assert_eq!((chunks("a"), chunks("b")), (vec![1, 2], vec![0x10, 0x11]));
        let heads: String = conn.query_row("SELECT heads FROM doc WHERE doc_id = 'b'", [], |r| r.get(0)).expect("b");
        assert_eq!(heads, "h2");
        let stage: String =
            conn.query_row("SELECT stage FROM incident WHERE incident_id = 'i1'", [], |r| r.get(0)).expect("i1");
        assert_eq!(stage, "committee_review");
        let events: i64 = conn.query_row("SELECT count(*) FROM incident_event", [], |r| r.get(0)).expect("events");
        assert_eq!(events, 1);
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'incident%'",
                [],
                |r| r.get(0),
            )
            .expect("indexes");
        assert_eq!(indexes, 0, "lists scan; rows are found by their keys");
    }
}
