//! The PostgreSQL backend: the storage contract (the same checks run against SQLite, so both behave alike),
//! cursors that never skip a document under concurrent writers on several storage instances, and
//! `serve --database-url` end to end.
//!
//! The PostgreSQL parts need a server: `GRIDLINE_TEST_DATABASE_URL` (tests/run starts a throwaway cluster
//! with tests/pg/cluster.sh and sets it). Without it they print why and pass; the SQLite halves always run.
//! Every test gets a database of its own, dropped at the end.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gridline_core::docs::incident;
use gridline_core::model::{Role, Severity};
use gridline_server::storage::postgres::PgStorage;
use gridline_server::storage::sqlite::SqliteStorage;
use gridline_server::storage::{
    catalogue_page, AuditEntry, Community, Device, DocScope, DocumentWrite, EnrollmentCode, Quota, QuotaExceeded,
    ReadScope, ResponseTemplate, SavedView, Session, Staff, Storage,
};
use gridline_testkit::{log_id, Server, ServerOptions, TestDatabase};

fn open(db: &TestDatabase) -> PgStorage {
    PgStorage::open(&db.url).expect("open PostgreSQL storage")
}

/// Runs `check` against a fresh SQLite store and, when a test cluster is configured, a fresh PostgreSQL one.
fn on_both_backends(test: &str, check: impl Fn(&dyn Storage)) {
    let dir = tempfile::tempdir().expect("tempdir");
    check(&SqliteStorage::open(dir.path()).expect("open SQLite storage"));
    if let Some(db) = TestDatabase::create_for(test) {
        check(&open(&db));
    }
}

fn community(s: &dyn Storage, name: &str) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    s.create_community(&Community { community_id: id.clone(), name: name.into() }).expect("create community");
    id
}

fn device(community_id: &str, user: &str, role: Role, grids: &[&str]) -> Device {
    Device {
        device_id: uuid::Uuid::now_v7().to_string(),
        community_id: community_id.into(),
        user: user.into(),
        role,
        grids: grids.iter().map(|g| g.to_string()).collect(),
        buildings: vec![],
        public_key: "ab".repeat(32),
        revoked: false,
    }
}

fn write(doc_id: &str, community_id: &str, grid: Option<&str>, changes: &[&str]) -> DocumentWrite {
    DocumentWrite {
        doc_id: doc_id.into(),
        scope: DocScope { community_id: community_id.into(), grid: grid.map(String::from) },
        changes: changes.iter().map(|c| (format!("hash-{c}"), c.as_bytes().to_vec())).collect(),
        heads: changes.last().map(|c| vec![format!("hash-{c}")]).unwrap_or_default(),
        blobs: vec![],
        base_seq: 0,
        once: false,
        audience: None,
        building: None,
    }
}

fn append(s: &dyn Storage, writes: &[DocumentWrite]) -> Vec<(i64, i64)> {
    s.append(writes, &[], 1_000, None).expect("append").expect("no quota")
}

fn whole(community_id: &str) -> ReadScope {
    ReadScope::whole(community_id)
}

#[test]
fn communities_enrollment_and_devices() {
    on_both_backends("communities_enrollment_and_devices", |s| {
        let c = community(s, "North Gate");
        assert_eq!(
            s.community(&c).expect("read"),
            Some(Community { community_id: c.clone(), name: "North Gate".into() })
        );
        assert_eq!(s.community("nope").expect("read"), None);
        let later = community(s, "South Gate");
        let ids: Vec<String> = s.communities().expect("list").into_iter().map(|c| c.community_id).collect();
        assert_eq!(ids, vec![c.clone(), later], "oldest first");

        let code = EnrollmentCode {
            code_hash: "code-1".into(),
            community_id: c.clone(),
            user: "Wang".into(),
            role: Role::GridLeader,
            grids: vec!["G01".into(), "G02".into()],
            buildings: vec!["1号楼".into()],
            expires_at: 2_000_000_000,
            used_by: None,
        };
        s.insert_enrollment_code(&code).expect("insert code");
        assert_eq!(s.enrollment_code("code-1").expect("read"), Some(code.clone()));
        let phone = device(&c, "Wang", Role::GridLeader, &["G01", "G02"]);
        assert!(s.redeem_enrollment_code("code-1", &phone, "token-1").expect("redeem"));
        let other = device(&c, "Wang", Role::GridLeader, &["G01"]);
        assert!(!s.redeem_enrollment_code("code-1", &other, "token-2").expect("redeem again"), "one use only");
        assert_eq!(s.enrollment_code("code-1").expect("read").and_then(|c| c.used_by), Some(phone.device_id.clone()));
        assert_eq!(s.device(&other.device_id).expect("read"), None, "a refused redemption stores no device");

        assert_eq!(s.device_by_token_hash("token-1").expect("by token"), Some(phone.clone()));
        assert_eq!(s.device_by_token_hash("token-2").expect("by token"), None);
        assert_eq!(s.devices().expect("devices"), vec![phone.clone()]);
        assert!(s.revoke_device(&phone.device_id).expect("revoke"));
        assert!(!s.revoke_device("nope").expect("revoke"));
        assert!(s.device(&phone.device_id).expect("read").is_some_and(|d| d.revoked));
    });
}

#[test]
fn documents_append_catalogue_and_load() {
    on_both_backends("documents_append_catalogue_and_load", |s| {
        let c = community(s, "North Gate");
        let before = s.catalogue_version(&c).expect("version");
        let seqs = append(s, &[write("doc-a", &c, Some("G01"), &["a1", "a2"]), write("doc-b", &c, None, &["b1"])]);
        assert_eq!(seqs.len(), 2);
        assert_eq!(seqs[0].0, 0, "nothing stored before");
        assert!(seqs[0].1 > 0 && seqs[1].1 > 0);

        let rows = s.catalogue(&whole(&c), before, 10).expect("catalogue");
        assert_eq!(rows.iter().map(|r| r.doc_id.as_str()).collect::<Vec<_>>(), vec!["doc-a", "doc-b"]);
        assert!(rows[0].version < rows[1].version, "every document its own version, in write order");
        assert_eq!(rows[0].heads, vec!["hash-a2".to_string()]);
        assert_eq!(rows[0].received_at, 1_000);
        assert_eq!(s.catalogue_version(&c).expect("version"), rows[1].version);
        // Scoped: another grid's device sees the community document only.
        let g02 = ReadScope::grids(&c, vec!["G02".into()]);
        let ids: Vec<String> = s.catalogue(&g02, 0, 10).expect("catalogue").into_iter().map(|r| r.doc_id).collect();
        assert_eq!(ids, vec!["doc-b"]);
        assert_eq!(s.catalogue(&whole(&c), rows[0].version, 10).expect("after a").len(), 1);
        assert_eq!(s.catalogue(&whole(&c), 0, 1).expect("limited").len(), 1);

        // Changes already stored are ignored, yet the document moves up the catalogue.
        let again = append(s, &[write("doc-a", &c, Some("G01"), &["a2", "a3"])]);
        assert_eq!(again[0].0, seqs[0].1);
        let (changes, last) = s.changes_after("doc-a", seqs[0].1).expect("changes after");
        assert_eq!(changes, vec![b"a3".to_vec()]);
        assert_eq!(last, again[0].1);
        let top = s.catalogue(&whole(&c), rows[1].version, 10).expect("catalogue");
        assert_eq!(top.iter().map(|r| r.doc_id.as_str()).collect::<Vec<_>>(), vec!["doc-a"]);
        assert_eq!(s.document_count().expect("count"), 2);

        let stored = s.load_document("doc-a").expect("load").expect("stored");
        assert_eq!(stored.snapshot, None);
        assert_eq!(stored.changes, vec![b"a1".to_vec(), b"a2".to_vec(), b"a3".to_vec()]);
        assert_eq!(stored.last_seq, again[0].1);
        assert!(s.load_document("nope").expect("load").is_none());

        // A compaction covers the changes so far; later ones load after it.
        assert_eq!(s.compaction_candidates(2, 10).expect("candidates"), vec!["doc-a".to_string()]);
        s.put_snapshot("doc-a", b"snapshot", stored.last_seq).expect("snapshot");
        assert!(s.compaction_candidates(0, 10).expect("candidates").iter().all(|d| d != "doc-a"));
        append(s, &[write("doc-a", &c, Some("G01"), &["a4"])]);
        let stored = s.load_document("doc-a").expect("load").expect("stored");
        assert_eq!(stored.snapshot.as_deref(), Some(&b"snapshot"[..]));
        assert_eq!(stored.changes, vec![b"a4".to_vec()]);

        // Sync states, with a write and alone.
        let states = vec![("dev-1".to_string(), "doc-a".to_string(), b"state-1".to_vec())];
        s.append(&[write("doc-c", &c, None, &["c1"])], &states, 2_000, None).expect("append").expect("no quota");
        assert_eq!(s.sync_state("dev-1", "doc-a").expect("state"), Some(b"state-1".to_vec()));
        s.put_sync_states(&[("dev-1".into(), "doc-a".into(), b"state-2".to_vec())]).expect("states");
        assert_eq!(s.sync_state("dev-1", "doc-a").expect("state"), Some(b"state-2".to_vec()));
        assert_eq!(s.sync_state("dev-2", "doc-a").expect("state"), None);
    });
}

/// A volunteer's catalogue: the documents without a grid and the orders whose audience is its user, as the
/// latest write of each order set it (a re-dispatch moves the order from one volunteer's catalogue to the
/// other's); a grid device's catalogue is not changed by audiences.
#[test]
fn a_volunteers_catalogue_follows_the_audience_of_each_write() {
    on_both_backends("a_volunteers_catalogue_follows_the_audience_of_each_write", |s| {
        let c = community(s, "North Gate");
        let order = |key: &str, audience: Option<&str>, changes: &[&str]| DocumentWrite {
            audience: audience.map(String::from),
            ..write(&format!("order:{c}:G01:{key}"), &c, Some("G01"), changes)
        };
        append(
            s,
            &[
                write(&format!("community:{c}"), &c, None, &["c1"]),
                write(&format!("points:{c}"), &c, None, &["p1"]),
                write(&format!("roster:{c}:G01"), &c, Some("G01"), &["r1"]),
                order("o1", Some("Li"), &["o1a"]),
                order("o2", Some("Zhao"), &["o2a"]),
                order("o3", None, &["o3a"]),
            ],
        );
        let volunteer = |user: &str| ReadScope {
            community_id: c.clone(),
            grids: Some(vec![]),
            user: user.into(),
            by_assignment: true,
            buildings: None,
        };
        let ids = |scope: &ReadScope, since: u64| -> Vec<String> {
            s.catalogue(scope, since, 100).expect("catalogue").into_iter().map(|r| r.doc_id).collect()
        };
        let (community_doc, points) = (format!("community:{c}"), format!("points:{c}"));
        let (o1, o2) = (format!("order:{c}:G01:o1"), format!("order:{c}:G01:o2"));
        assert_eq!(ids(&volunteer("Li"), 0), vec![community_doc.clone(), points.clone(), o1.clone()]);
        assert_eq!(ids(&volunteer("Zhao"), 0), vec![community_doc.clone(), points.clone(), o2.clone()]);
        assert_eq!(ids(&volunteer("Nobody"), 0), vec![community_doc.clone(), points.clone()]);
        assert_eq!(s.audience(&o1).expect("audience"), Some("Li".into()));
        assert_eq!(s.audience(&format!("order:{c}:G01:o3")).expect("audience"), None);
        assert_eq!(s.audience("order:nowhere").expect("audience"), None);
        assert_eq!(ids(&ReadScope::grids(&c, vec!["G01".into()]), 0).len(), 6, "a grid device reads every order");

        // Re-dispatched from Li to Zhao: Li's catalogue no longer lists it, Zhao's does, after Zhao's cursor.
        let cursor = s.catalogue_version(&c).expect("version");
        append(s, &[order("o1", Some("Zhao"), &["o1b"])]);
        assert_eq!(s.audience(&o1).expect("audience"), Some("Zhao".into()));
        assert_eq!(ids(&volunteer("Li"), 0), vec![community_doc.clone(), points.clone()]);
        assert_eq!(ids(&volunteer("Zhao"), cursor), vec![o1.clone()]);
        // A page is bounded and in version order.
        let page = s.catalogue(&volunteer("Zhao"), 0, 2).expect("page");
        assert_eq!(page.iter().map(|r| r.doc_id.as_str()).collect::<Vec<_>>(), vec![community_doc.clone(), points]);

        // What Li's phone synced and may no longer hold: o1 (now Zhao's) and o3 (nobody's), never its community
        // document, nor an order of another community's prefix.
        let o3 = format!("order:{c}:G01:o3");
        let states: Vec<(String, String, Vec<u8>)> = [&community_doc, &o1, &o2, &o3, &"order:elsewhere:G01:o9".into()]
            .into_iter()
            .map(|doc| ("li-phone".to_string(), doc.to_string(), vec![1]))
            .collect();
        s.put_sync_states(&states).expect("states");
        let prefix = format!("order:{c}:");
        let mut expected = vec![o1.clone(), o2.clone(), o3.clone()];
        expected.sort();
        assert_eq!(s.withdrawable("li-phone", &prefix, "Li", 10).expect("withdrawable"), expected);
        assert_eq!(s.withdrawable("li-phone", &prefix, "Zhao", 10).expect("withdrawable"), vec![o3.clone()]);
        assert_eq!(s.withdrawable("li-phone", &prefix, "Li", 1).expect("bounded").len(), 1);
        s.forget_sync_states("li-phone", &[o1.clone(), o3.clone()]).expect("forget");
        assert_eq!(s.withdrawable("li-phone", &prefix, "Li", 10).expect("withdrawable"), vec![o2.clone()]);
        assert_eq!(s.sync_state("li-phone", &o1).expect("state"), None);
        assert_eq!(s.sync_state("li-phone", &community_doc).expect("state"), Some(vec![1]), "the rest is kept");
    });
}

#[test]
fn quotas_refuse_the_whole_write() {
    on_both_backends("quotas_refuse_the_whole_write", |s| {
        let c = community(s, "North Gate");
        let quota = Quota { device_id: "dev-1".into(), day: 20_000, new_docs_per_day: 2, doc_bytes_per_day: 10 };
        let ok =
            s.append(&[write("doc-a", &c, None, &["a1"]), write("doc-b", &c, None, &["b1"])], &[], 1, Some(&quota));
        assert!(ok.expect("append").is_ok());
        let version = s.catalogue_version(&c).expect("version");
        let refused = s.append(&[write("doc-c", &c, None, &["c1"])], &[], 1, Some(&quota)).expect("append");
        assert_eq!(refused, Err(QuotaExceeded::NewDocuments));
        assert!(s.load_document("doc-c").expect("load").is_none(), "nothing of a refused write is stored");
        assert_eq!(s.catalogue_version(&c).expect("version"), version, "a refused write takes no version");
        // Another day counts afresh.
        let tomorrow = Quota { day: 20_001, ..quota.clone() };
        assert!(s.append(&[write("doc-c", &c, None, &["c1"])], &[], 1, Some(&tomorrow)).expect("append").is_ok());
        // Bytes per document: 2 + 2 stored, 8 more passes 10.
        let big = write("doc-a", &c, None, &["a2-long-", "a3"]);
        assert_eq!(s.append(&[big], &[], 1, Some(&quota)).expect("append"), Err(QuotaExceeded::DocumentBytes));
        assert_eq!(s.load_document("doc-a").expect("load").expect("stored").changes.len(), 1);

        // Blob bytes per day.
        assert_eq!(s.put_blob("sha-1", b"12345", "dev-1", 20_000, 8).expect("put"), Ok(()));
        assert_eq!(s.put_blob("sha-2", b"12345", "dev-1", 20_000, 8).expect("put"), Err(QuotaExceeded::BlobBytes));
        assert!(!s.blob_exists("sha-2").expect("exists"));
        assert_eq!(s.put_blob("sha-2", b"12345", "dev-2", 20_000, 8).expect("put"), Ok(()), "per device");
    });
}

#[test]
fn blobs_keep_their_bytes_uploaders_and_documents() {
    on_both_backends("blobs_keep_their_bytes_uploaders_and_documents", |s| {
        let c = community(s, "North Gate");
        assert!(!s.blob_exists("sha-1").expect("exists"));
        assert_eq!(s.put_blob("sha-1", b"photo", "dev-1", 1, 1 << 20).expect("put"), Ok(()));
        assert_eq!(s.put_blob("sha-1", b"other", "dev-2", 1, 1 << 20).expect("put"), Ok(()));
        assert!(s.blob_exists("sha-1").expect("exists"));
        assert_eq!(s.blob("sha-1").expect("blob"), Some(b"photo".to_vec()), "the first bytes stay");
        assert_eq!(s.blob("sha-2").expect("blob"), None);
        let uploaders: BTreeSet<String> = s.blob_uploaders("sha-1", 10).expect("uploaders").into_iter().collect();
        assert_eq!(uploaders, ["dev-1".to_string(), "dev-2".to_string()].into_iter().collect());
        assert_eq!(s.blob_uploaders("sha-1", 1).expect("uploaders").len(), 1);
        let mut w = write("doc-a", &c, Some("G01"), &["a1"]);
        w.blobs = vec!["sha-1".into()];
        append(s, &[w.clone()]);
        append(s, &[w]);
        assert_eq!(s.blob_documents("sha-1", 10).expect("documents"), vec!["doc-a".to_string()]);
    });
}

#[test]
fn staff_sessions_audit_views_and_templates() {
    on_both_backends("staff_sessions_audit_views_and_templates", |s| {
        let c = community(s, "North Gate");
        s.put_setup_token("setup-1", 2_000).expect("setup token");
        assert!(s.setup_token_valid("setup-1", 1_000).expect("valid"));
        assert!(!s.setup_token_valid("setup-1", 3_000).expect("expired"));
        assert!(!s.take_setup_token("setup-1", 3_000).expect("expired"));
        assert!(s.take_setup_token("setup-1", 1_000).expect("take"));
        assert!(!s.take_setup_token("setup-1", 1_000).expect("used up"));

        let actor = device(&c, "li", Role::Committee, &[]);
        let li = Staff {
            staff_id: actor.device_id.clone(),
            community_id: c.clone(),
            user: "li".into(),
            role: Role::Committee,
            disabled: false,
            created_at: 100,
        };
        assert!(s.create_staff(&li, "hash-1", &actor).expect("create"));
        let twin = device(&c, "li", Role::Admin, &[]);
        let taken = Staff { staff_id: twin.device_id.clone(), role: Role::Admin, ..li.clone() };
        assert!(!s.create_staff(&taken, "hash-2", &twin).expect("create"), "the name is taken");
        assert!(s.device(&twin.device_id).expect("device").is_none());
        assert_eq!(s.staff_by_user("li").expect("by user"), Some((li.clone(), "hash-1".to_string())));
        assert_eq!(s.staff(&li.staff_id).expect("staff"), Some(li.clone()));
        assert_eq!(s.staff_list(Some(&c)).expect("list"), vec![li.clone()]);
        assert_eq!(s.staff_list(None).expect("list"), vec![li.clone()]);
        assert!(s.staff_list(Some("elsewhere")).expect("list").is_empty());
        assert_eq!(s.staff_count().expect("count"), 1);
        assert!(s.devices().expect("devices").is_empty(), "a staff account's actor is not a phone");
        assert!(!s.setup_token_valid("setup-1", 1_000).expect("valid"));

        let session = Session {
            token_hash: "session-1".into(),
            staff_id: li.staff_id.clone(),
            csrf: "csrf".into(),
            created_at: 5,
            last_seen: 5,
        };
        s.put_session(&session).expect("session");
        s.touch_session("session-1", 9).expect("touch");
        assert_eq!(s.session("session-1").expect("session"), Some(Session { last_seen: 9, ..session.clone() }));
        assert!(s.set_staff_password(&li.staff_id, "hash-3").expect("passwd"));
        assert_eq!(s.session("session-1").expect("session"), None, "a new password ends the sessions");
        assert_eq!(s.staff_by_user("li").expect("by user").map(|(_, h)| h), Some("hash-3".to_string()));
        s.put_session(&session).expect("session");
        s.delete_session("session-1").expect("delete");
        assert_eq!(s.session("session-1").expect("session"), None);
        s.put_session(&session).expect("session");
        assert!(s.disable_staff(&li.staff_id).expect("disable"));
        assert!(!s.set_staff_password("nobody", "x").expect("passwd"));
        assert_eq!(s.session("session-1").expect("session"), None);
        assert!(s.staff(&li.staff_id).expect("staff").is_some_and(|s| s.disabled));
        assert!(s.device(&li.staff_id).expect("device").is_some_and(|d| d.revoked), "its actor may write nothing");

        let entry = |community_id: &str, action: &str| AuditEntry {
            id: 0,
            at: 7,
            community_id: community_id.into(),
            user: "li".into(),
            action: action.into(),
            target: "t".into(),
            detail: "d".into(),
            address: "127.0.0.1".into(),
        };
        for e in [entry(&c, "sign_in"), entry("", "server_wide"), entry("elsewhere", "other"), entry(&c, "reveal")] {
            s.append_audit(&e).expect("audit");
        }
        let log = s.audit(&c, None, 10).expect("audit");
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["reveal", "server_wide", "sign_in"]);
        let older = s.audit(&c, Some(log[0].id), 1).expect("audit");
        assert_eq!(older.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["server_wide"]);

        let view = |id: &str, name: &str| SavedView {
            view_id: id.into(),
            community_id: c.clone(),
            name: name.into(),
            query: "stage=committee_review".into(),
            created_by: "li".into(),
        };
        s.put_view(&view("v1", "b urgent")).expect("view");
        s.put_view(&view("v2", "a mine")).expect("view");
        s.put_view(&view("v1", "c renamed")).expect("replace view");
        let names: Vec<String> = s.views(&c).expect("views").into_iter().map(|v| v.name).collect();
        assert_eq!(names, vec!["a mine", "c renamed"]);
        assert!(!s.delete_view("elsewhere", "v1").expect("delete"));
        assert!(s.delete_view(&c, "v1").expect("delete"));
        assert_eq!(s.views(&c).expect("views").len(), 1);

        let template = |id: &str, action: &str, text: &str| ResponseTemplate {
            template_id: id.into(),
            community_id: c.clone(),
            category: String::new(),
            action: action.into(),
            text: text.into(),
        };
        s.put_template(&template("t1", "resolve", "fixed")).expect("template");
        s.put_template(&template("t2", "dispatch", "sent")).expect("template");
        s.put_template(&template("t1", "resolve", "fixed today")).expect("replace template");
        let texts: Vec<String> = s.templates(&c).expect("templates").into_iter().map(|t| t.text).collect();
        assert_eq!(texts, vec!["sent", "fixed today"]);
        assert!(s.delete_template(&c, "t2").expect("delete"));
        assert!(!s.delete_template(&c, "t2").expect("delete again"));
    });
}

/// Writer threads append to one community while a reader follows the catalogue from its cursor with the
/// sync answer's own rule ([`catalogue_page`]); the reader must end up having listed every document, none
/// passed over. The reader and the two halves of the writers each have their own storage instance on the
/// same database, as three server processes would.
fn cursor_never_skips(open: impl Fn() -> Arc<dyn Storage>) {
    let s = open();
    let instances = [open(), open()];
    const WRITERS: usize = 4;
    const WRITES_EACH: usize = 40;
    let c = community(s.as_ref(), "North Gate");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (s, c, done) = (s.clone(), c.clone(), done.clone());
        std::thread::spawn(move || {
            let mut cursor = 0u64;
            let mut seen = BTreeSet::new();
            let mut passes = 0u32;
            loop {
                // Once the writers are done, one more pass reads everything that is left.
                let last_pass = done.load(Ordering::SeqCst);
                loop {
                    let page = catalogue_page(s.as_ref(), &whole(&c), cursor, 7).expect("catalogue");
                    cursor = page.cursor;
                    seen.extend(page.rows.into_iter().map(|r| r.doc_id));
                    if !page.more {
                        break;
                    }
                }
                passes += 1;
                if last_pass {
                    return (seen, passes);
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (s, c) = (instances[w % 2].clone(), c.clone());
            std::thread::spawn(move || {
                for n in 0..WRITES_EACH {
                    // One or two documents per write, as a sync round stores several.
                    let ids: Vec<String> = (0..1 + n % 2).map(|k| format!("doc-{w}-{n}-{k}")).collect();
                    let writes: Vec<DocumentWrite> =
                        ids.iter().map(|id| write(id, &c, Some("G01"), &[&format!("{id}-change")])).collect();
                    append(s.as_ref(), &writes);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let (seen, passes) = reader.join().expect("reader");
    let expected: BTreeSet<String> = (0..WRITERS)
        .flat_map(|w| (0..WRITES_EACH).flat_map(move |n| (0..1 + n % 2).map(move |k| format!("doc-{w}-{n}-{k}"))))
        .collect();
    assert!(passes > 1, "the reader ran beside the writers");
    let missed: Vec<&String> = expected.difference(&seen).collect();
    assert!(missed.is_empty(), "the cursor passed over {} documents: {missed:?}", missed.len());
}

#[test]
fn concurrent_writers_never_make_a_cursor_skip() {
    let dir = tempfile::tempdir().expect("tempdir");
    cursor_never_skips(|| Arc::new(SqliteStorage::open(dir.path()).expect("open SQLite storage")));
    if let Some(db) = TestDatabase::create_for("concurrent_writers_never_make_a_cursor_skip") {
        cursor_never_skips(|| Arc::new(open(&db)));
    }
}

/// A real Automerge change on `doc` (setting `key`), committed.
fn put(doc: &mut automerge::AutoCommit, key: &str) {
    automerge::transaction::Transactable::put(doc, automerge::ROOT, key, key).expect("put");
    doc.commit();
}

/// A building lead's catalogue: the documents without a grid, and of its grid those whose building is one of
/// its keys; a grid device's catalogue never lists a building's projection; a device's buildings are stored.
#[test]
fn a_building_leads_catalogue_follows_the_building_of_each_write() {
    on_both_backends("a_building_leads_catalogue_follows_the_building_of_each_write", |s| {
        let c = community(s, "East Gate");
        let in_building = |doc_id: String, grid: &str, key: Option<&str>, changes: &[&str]| DocumentWrite {
            building: key.map(String::from),
            ..write(&doc_id, &c, Some(grid), changes)
        };
        append(
            s,
            &[
                write(&format!("community:{c}"), &c, None, &["c1"]),
                write(&format!("roster:{c}:G01"), &c, Some("G01"), &["r1"]),
                write(&format!("checkins:{c}:G01:2026-11-24"), &c, Some("G01"), &["l1"]),
                in_building(format!("building:{c}:G01:bkeyA"), "G01", Some("bkeyA"), &["pa"]),
                in_building(format!("building:{c}:G01:bkeyB"), "G01", Some("bkeyB"), &["pb"]),
                in_building(format!("checkins:{c}:G01:2026-11-24:bkeyA"), "G01", Some("bkeyA"), &["la"]),
                in_building(format!("incident:{c}:G01:i1"), "G01", Some("bkeyA"), &["ia"]),
                in_building(format!("incident:{c}:G01:i2"), "G01", Some("bkeyB"), &["ib"]),
                in_building(format!("incident:{c}:G02:i3"), "G02", Some("bkeyA"), &["ic"]),
            ],
        );
        let lead = ReadScope { buildings: Some(vec!["bkeyA".into()]), ..ReadScope::grids(&c, vec!["G01".into()]) };
        let ids: Vec<String> = s.catalogue(&lead, 0, 100).expect("catalogue").into_iter().map(|r| r.doc_id).collect();
        assert_eq!(
            ids,
            vec![
                format!("community:{c}"),
                format!("building:{c}:G01:bkeyA"),
                format!("checkins:{c}:G01:2026-11-24:bkeyA"),
                format!("incident:{c}:G01:i1"),
            ]
        );
        assert_eq!(s.building(&format!("incident:{c}:G01:i2")).expect("building"), Some("bkeyB".into()));
        assert_eq!(s.building(&format!("roster:{c}:G01")).expect("building"), None);
        for scope in [ReadScope::grids(&c, vec!["G01".into()]), ReadScope::whole(&c)] {
            let ids: Vec<String> =
                s.catalogue(&scope, 0, 100).expect("catalogue").into_iter().map(|r| r.doc_id).collect();
            assert!(!ids.iter().any(|d| d.starts_with("building:")), "{ids:?}");
            assert!(ids.contains(&format!("checkins:{c}:G01:2026-11-24:bkeyA")), "{ids:?}");
        }
        let mut phone = device(&c, "Zhao", Role::BuildingLead, &["G01"]);
        phone.buildings = vec!["1号楼".into(), "2号楼".into()];
        let code = EnrollmentCode {
            code_hash: "code-lead".into(),
            community_id: c.clone(),
            user: "Zhao".into(),
            role: Role::BuildingLead,
            grids: vec!["G01".into()],
            buildings: phone.buildings.clone(),
            expires_at: 2_000_000_000,
            used_by: None,
        };
        s.insert_enrollment_code(&code).expect("insert code");
        assert_eq!(s.enrollment_code("code-lead").expect("read"), Some(code));
        assert!(s.redeem_enrollment_code("code-lead", &phone, "token-lead").expect("redeem"));
        assert_eq!(s.device(&phone.device_id).expect("read"), Some(phone));
    });
}

/// The write of `doc`'s changes since `since`, with its heads, as the engine makes it.
fn write_since(doc: &mut automerge::AutoCommit, community_id: &str, since: &[automerge::ChangeHash]) -> DocumentWrite {
    DocumentWrite {
        doc_id: "doc-a".into(),
        scope: DocScope { community_id: community_id.into(), grid: Some("G01".into()) },
        changes: doc.get_changes(since).iter().map(|c| (c.hash().to_string(), c.raw_bytes().to_vec())).collect(),
        heads: doc.get_heads().iter().map(ToString::to_string).collect(),
        blobs: vec![],
        base_seq: 0,
        once: false,
        audience: None,
        building: None,
    }
}

/// Two server instances apply a change each to their own copy of one document and store it, one after the
/// other: the catalogue's heads are both changes, not the last writer's alone (a device holding only the
/// last writer's change would otherwise be told it is up to date). A change on top of both leaves itself.
#[test]
fn two_writers_of_one_document_leave_both_heads() {
    let Some(db) = TestDatabase::create_for("two_writers_of_one_document_leave_both_heads") else { return };
    let (first, second) = (open(&db), open(&db));
    let c = community(&first, "North Gate");
    let heads_of = |s: &PgStorage| s.catalogue(&whole(&c), 0, 10).expect("catalogue")[0].heads.clone();
    let hex =
        |doc: &mut automerge::AutoCommit| -> Vec<String> { doc.get_heads().iter().map(ToString::to_string).collect() };
    let mut base = automerge::AutoCommit::new();
    put(&mut base, "scope");
    append(&first, &[write_since(&mut base, &c, &[])]);
    let base_heads = base.get_heads();

    let mut one = base.fork();
    put(&mut one, "dispatch");
    let mut two = base.fork();
    put(&mut two, "return");
    append(&first, &[write_since(&mut one, &c, &base_heads)]);
    append(&second, &[write_since(&mut two, &c, &base_heads)]);
    let mut both = [hex(&mut one), hex(&mut two)].concat();
    both.sort();
    assert_eq!(heads_of(&first), both, "both concurrent changes are heads");

    // A write of changes already stored, from a copy that knows only one of them, changes nothing.
    append(&second, &[write_since(&mut one, &c, &base_heads)]);
    assert_eq!(heads_of(&second), both);

    one.merge(&mut two).expect("merge");
    put(&mut one, "comment");
    let known = one.get_heads();
    append(&second, &[write_since(&mut one, &c, &both.iter().map(|h| h.parse().expect("hash")).collect::<Vec<_>>())]);
    assert_eq!(heads_of(&first), hex(&mut one), "a change on top of both is the only head");
    assert_eq!(known, one.get_heads());
    let stored = first.load_document("doc-a").expect("load").expect("stored");
    assert_eq!(stored.changes.len(), 4, "every change once");
}

#[test]
fn two_devices_converge_through_serve_on_postgres() {
    let Some(db) = TestDatabase::create_for("two_devices_converge_through_serve_on_postgres") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let mut server = Server::start_with(&dir.path().join("first"), &options);
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut b = server.enroll(&community, "B", "grid_leader", &["G01"]);

    let log = log_id(&community, "G01");
    let check_in = a.check_in(&log, "a-1", "all well");
    a.append_check_in(&log, &check_in);
    let check_in = b.check_in(&log, "b-1", "nobody home");
    b.append_check_in(&log, &check_in);
    let incident = a.report_incident("G01", "Stairwell light out", Severity::Normal);
    a.sync().expect("a syncs");
    b.sync().expect("b syncs");
    a.sync().expect("a syncs again");

    let log_key = log.to_string();
    let check_ins = |d: &gridline_testkit::Device| -> BTreeSet<String> {
        gridline_core::docs::checkin_log::check_ins(&d.docs[&log_key]).into_iter().map(|c| c.check_in_id).collect()
    };
    let both: BTreeSet<String> = ["a-1".to_string(), "b-1".to_string()].into_iter().collect();
    assert_eq!(check_ins(&a), both);
    assert_eq!(check_ins(&b), both);
    let incident_key = incident.to_string();
    assert_eq!(a.ids(), b.ids());
    for key in [&log_key, &incident_key] {
        let heads_a = a.docs.get_mut(key).expect("a holds it").get_heads();
        let heads_b = b.docs.get_mut(key).expect("b holds it").get_heads();
        assert_eq!(heads_a, heads_b, "{key}");
    }
    let events = incident::read_events(&b.docs[&incident_key]).expect("events");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["report", "receive"], "stored and receipted by the server");

    // A photo goes into the database too; its uploader reads it back.
    let photo = b"jpeg bytes of a stairwell".to_vec();
    let blob_url = server.url(&format!("/v1/blobs/{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&photo))));
    let put = server.http.put(&blob_url).bearer_auth(&a.info.token).body(photo.clone()).send().expect("put");
    assert_eq!(put.status().as_u16(), 201);
    let got = server.http.get(&blob_url).bearer_auth(&a.info.token).send().expect("get");
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().expect("bytes").to_vec(), photo);

    // Everything lives in the database: a server started on an empty data directory serves it all.
    server.kill();
    let second = Server::start_with(&dir.path().join("second"), &options);
    let mut late = second.enroll(&community, "C", "committee", &[]);
    late.sync().expect("sync");
    assert_eq!(check_ins(&late), both);
    let heads_late = late.docs.get_mut(&incident_key).expect("incident").get_heads();
    assert_eq!(heads_late, b.docs.get_mut(&incident_key).expect("incident").get_heads());
    // A phone enrolled through the first server keeps syncing through the second (its token is stored there).
    b.base = second.url("");
    b.write(&log, "checkin/b-2", "second visit");
    b.sync().expect("b syncs with the second server");
    late.sync().expect("sync");
    assert!(late.notes(&log_key).iter().any(|(k, _)| k == "checkin/b-2"));
    assert!(b.ids().contains(&incident_key));
}

#[test]
fn the_console_works_on_postgres() {
    let Some(db) = TestDatabase::create_for("the_console_works_on_postgres") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let server = Server::start_with(dir.path(), &options);
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let incident = leader.report_incident("G01", "Stairwell light out", Severity::Normal);
    leader.sync().expect("report synced");
    let incident_id = incident.key.clone().expect("incident id");

    // The account, its session and its action all go through the database.
    let committee = server.signed_in_staff(&community, "li", "committee");
    let started = std::time::Instant::now();
    while !committee.page("/console/queue?stage=all").contains(&incident_id) {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the incident never reached the queue");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let res = committee.post(&format!("/console/incidents/{incident_id}/act"), &[("action", "dispatch")]);
    assert_eq!(res.status().as_u16(), 303, "dispatched");
    leader.sync().expect("leader syncs");
    let events = incident::read_events(&leader.docs[&incident.to_string()]).expect("events");
    let dispatch = events.iter().find(|e| e.action == "dispatch").expect("the console's dispatch reached the phone");
    assert_eq!((dispatch.actor.as_str(), dispatch.role.as_str()), ("li", "committee"));
    let listed = server.admin_ok(&["staff", "list"]);
    assert!(listed.to_string().contains("\"li\""), "{listed}");
}

/// Instances tell each other about writes (LISTEN/NOTIFY): a console page open on instance A shows, within
/// seconds, an incident a phone synced through instance B. Without the announcement A would find it only at
/// its feed's 30-second safety poll.
#[test]
fn a_page_on_one_instance_hears_a_phone_syncing_through_another() {
    use std::time::{Duration, Instant};
    let Some(db) = TestDatabase::create_for("a_page_on_one_instance_hears_a_phone_syncing_through_another") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let a = Server::start_with(&dir.path().join("a"), &options);
    let b = Server::start_with(&dir.path().join("b"), &options);
    let community = a.community_with_roster();
    let committee = a.signed_in_staff(&community, "zheng", "committee");
    let mut leader = b.enroll(&community, "A", "grid_leader", &["G02"]);
    // Both instances have fed their replicas once (the community exists in each).
    std::thread::sleep(Duration::from_secs(2));
    let rx = committee.live_updates();
    let id = leader.report_incident("G02", "Stairwell light out", Severity::Normal);
    let incident_id = id.key.clone().expect("incident id");
    leader.sync().expect("sync through B");
    let synced = Instant::now();
    let deadline = synced + Duration::from_secs(10);
    loop {
        let (at, ids) = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("instance A's page hears of the incident synced through B");
        if ids.split(',').any(|i| i == incident_id) {
            let latency = at.saturating_duration_since(synced);
            assert!(latency < Duration::from_secs(5), "sync through B → event on A took {latency:?}");
            break;
        }
    }
    // The page on A shows it, and A's console acts on it; the phone hears of the action through B.
    assert!(committee.page(&format!("/console/incidents/{incident_id}")).contains("Stairwell light out"));
    let res = committee.post(&format!("/console/incidents/{incident_id}/act"), &[("action", "dispatch")]);
    assert_eq!(res.status().as_u16(), 303, "dispatched on A");
    leader.sync().expect("sync through B");
    let events = incident::read_events(&leader.docs[&id.to_string()]).expect("events");
    assert!(events.iter().any(|e| e.action == "dispatch"), "A's action reached the phone through B");

    // The database drops the instances' listening connections: they listen again, and the next sync through
    // B still reaches the page on A within seconds.
    let cut = gridline_testkit::postgres::query(
        &db.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert!(cut.len() >= 2, "both instances' listeners were cut: {cut:?}");
    std::thread::sleep(Duration::from_secs(3));
    let again = leader.report_incident("G02", "Lift stuck", Severity::Normal);
    let again_id = again.key.clone().expect("incident id");
    leader.sync().expect("sync through B");
    let synced = Instant::now();
    loop {
        let (_, ids) = rx
            .recv_timeout((synced + Duration::from_secs(10)).saturating_duration_since(Instant::now()))
            .expect("after its listener was cut, instance A hears of the next incident");
        if ids.split(',').any(|i| i == again_id) {
            assert!(synced.elapsed() < Duration::from_secs(5), "heard after {:?}", synced.elapsed());
            break;
        }
    }
}

/// Two writers (instances, or `serve` and an admin command on SQLite) store the first changes of one new
/// document at the same moment — two grid leaders' check-in logs of the same day, begun offline on each phone.
/// Each thinks the document new; whichever commits second finds it stored and keeps the first's heads beside
/// its own.
#[test]
fn two_writers_creating_one_document_at_once_leave_both_heads() {
    fn race(first: &dyn Storage, second: &dyn Storage) {
        let c = community(first, "East Gate");
        for round in 0..12 {
            let doc_id = format!("doc-{round}");
            let mut docs: Vec<automerge::AutoCommit> = (0..2)
                .map(|i| {
                    let mut doc = automerge::AutoCommit::new();
                    put(&mut doc, &format!("writer {i}"));
                    doc
                })
                .collect();
            let writes: Vec<DocumentWrite> = docs
                .iter_mut()
                .map(|doc| DocumentWrite { doc_id: doc_id.clone(), ..write_since(doc, &c, &[]) })
                .collect();
            let start = std::sync::Barrier::new(2);
            std::thread::scope(|s| {
                for (storage, w) in [(first, &writes[0]), (second, &writes[1])] {
                    let start = &start;
                    s.spawn(move || {
                        start.wait();
                        append(storage, std::slice::from_ref(w));
                    });
                }
            });
            let mut both: Vec<String> = writes.iter().flat_map(|w| w.heads.clone()).collect();
            both.sort();
            let listed = first.catalogue(&whole(&c), 0, 100).expect("catalogue");
            let row = listed.iter().find(|r| r.doc_id == doc_id).expect("listed");
            assert_eq!(row.heads, both, "round {round}: both writers' changes are heads");
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = |_| SqliteStorage::open(dir.path()).expect("open SQLite storage");
    race(&sqlite(0), &sqlite(1));
    if let Some(db) = TestDatabase::create_for("two_writers_creating_one_document_at_once_leave_both_heads") {
        race(&open(&db), &open(&db));
    }
}

/// The sign-in throttle counts in the database: five wrong passwords spread over two instances lock the
/// account on both (a guesser gains nothing from the load balancer), and the right password is refused too
/// until the window ends.
#[test]
fn wrong_passwords_spread_over_instances_lock_the_account_on_every_instance() {
    let Some(db) = TestDatabase::create_for("wrong_passwords_spread_over_instances_lock_the_account_on_every_instance")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let servers =
        [Server::start_with(&dir.path().join("a"), &options), Server::start_with(&dir.path().join("b"), &options)];
    let community = servers[0].community("North Gate");
    servers[1].staff(&community, "zhao", "committee", "the right password");
    let mut clients = [servers[0].console_client(), servers[1].console_client()];
    for attempt in 0..gridline_server::console::session::THROTTLE_FAILURES as usize {
        let res = clients[attempt % 2].sign_in("zhao", "a wrong guess");
        assert_eq!(res.status().as_u16(), 401, "attempt {attempt}: refused as wrong");
    }
    for client in &mut clients {
        let res = client.sign_in("zhao", "the right password");
        assert_eq!(res.status().as_u16(), 429, "locked on every instance");
    }
}
