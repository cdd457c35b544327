//! Encryption at rest: no resident name or ID number appears in any file of the store directory (while the
//! store is open, with its WAL, and after it is closed); a wrong key fails with `store_key_invalid` and
//! changes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, Role};
use gridline_core::store::InitOptions;
use gridline_core::{Store, SystemClock};

const NAME: &str = "欧阳秀英";
const ID_NUMBER: &str = "11010519491231002X";
const NOTE: &str = "血压偏高需复查";

fn roster() -> String {
    gridline_testkit::roster::csv(&[&format!(
        "G01,1,1,3,301,H001,{NAME},F,1949,13912345678,{ID_NUMBER},elderly_alone;seriously_ill,"
    )])
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read file")))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_nothing_readable(dir: &Path) {
    let all = files(dir);
    assert!(all.keys().any(|f| f.ends_with("gridline.db")), "store file present: {:?}", all.keys());
    for (file, bytes) in &all {
        for secret in [NAME, ID_NUMBER, NOTE, "seriously_ill", "13912345678"] {
            assert!(!contains(bytes, secret), "{secret:?} readable in {file}");
        }
    }
}

fn open_store(dir: &Path, key: &[u8; 32]) -> gridline_core::Result<Store> {
    Store::open(dir, key, Arc::new(SystemClock))
}

/// A new store holding the one-household roster.
fn store_with_roster(dir: &Path, key: &[u8; 32]) -> Store {
    let opts =
        InitOptions { community_name: "幸福社区".into(), ..InitOptions::new("王网格长", Role::GridLeader) };
    let mut store = Store::init(dir, key, opts, Arc::new(SystemClock)).expect("init");
    store.import_roster(roster().as_bytes()).expect("import");
    store
}

#[test]
fn store_files_hold_no_readable_resident_data_and_wrong_key_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = [42u8; 32];
    let mut store = store_with_roster(dir.path(), &key);
    let c = store
        .check_in(NewCheckIn {
            household_code: "H001".into(),
            kind: CheckInKind::Door,
            outcome: CheckInOutcome::Attention,
            note: NOTE.into(),
            photos: vec![],
            location: None,
            at: None,
        })
        .expect("check-in");
    // While open: the WAL holds the recent pages.
    assert_nothing_readable(dir.path());
    drop(store);
    assert_nothing_readable(dir.path());

    let before = files(dir.path());
    let wrong = [43u8; 32];
    let err = open_store(dir.path(), &wrong).err().expect("wrong key must fail");
    assert_eq!(err.code(), gridline_core::ErrorCode::StoreKeyInvalid);
    assert_eq!(files(dir.path()), before, "a wrong key must not change any file");

    let mut store = open_store(dir.path(), &key).expect("right key still opens");
    assert_eq!(store.household_detail("H001").expect("detail").residents[0].name, NAME);
    assert!(store.check_in_record(&c.check_in_id).expect("read").is_some());
}

/// A store written with SQLCipher's default page HMAC (SHA-512, before the store chose HMAC-SHA256) still
/// opens, keeps its data and takes new writes; a wrong key on it still fails with `store_key_invalid`.
#[test]
fn a_store_signed_with_the_legacy_page_hmac_still_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = [42u8; 32];
    let store = store_with_roster(dir.path(), &key);
    drop(store);

    // Re-encrypt the store with the legacy settings, as an earlier build wrote it.
    let db = dir.path().join("gridline.db");
    let legacy = dir.path().join("legacy.db");
    let hex_key: String = key.iter().map(|b| format!("{b:02x}")).collect();
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{hex_key}'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256;
             ATTACH DATABASE '{}' AS legacy KEY \"x'{hex_key}'\";
             PRAGMA legacy.cipher_hmac_algorithm = HMAC_SHA512;
             SELECT sqlcipher_export('legacy');",
            legacy.display()
        ))
        .expect("export");
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
        conn.execute_batch(&format!("PRAGMA legacy.user_version = {version}; DETACH DATABASE legacy;"))
            .expect("version");
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("gridline.db{suffix}")));
    }
    std::fs::rename(&legacy, &db).expect("replace");
    {
        let plain_sha256 = rusqlite::Connection::open(&db).expect("open");
        plain_sha256
            .execute_batch(&format!("PRAGMA key = \"x'{hex_key}'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256;"))
            .expect("key");
        assert!(
            plain_sha256.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_err(),
            "the copy really uses the other HMAC"
        );
    }

    let err = open_store(dir.path(), &[43u8; 32]).err().expect("wrong key must fail");
    assert_eq!(err.code(), gridline_core::ErrorCode::StoreKeyInvalid);
    let mut store = open_store(dir.path(), &key).expect("legacy store opens");
    assert_eq!(store.household_detail("H001").expect("detail").residents[0].name, NAME);
    let c = store
        .check_in(NewCheckIn {
            household_code: "H001".into(),
            kind: CheckInKind::Phone,
            outcome: CheckInOutcome::Well,
            note: String::new(),
            photos: vec![],
            location: None,
            at: None,
        })
        .expect("check-in on a legacy store");
    drop(store);
    let mut store = open_store(dir.path(), &key).expect("reopens");
    assert!(store.check_in_record(&c.check_in_id).expect("read").is_some());
}
