//! What each fuzz target does with one input. Shared, file for file, by the fuzzers (`fuzz_targets/`) and by
//! `sync-server/tests/fuzz_corpus.rs`, which replays every committed corpus and regression input in the
//! ordinary test run. A panic is a finding; `Err` carries the refusal's stable code.

use gridline_core::model::community::CommunitySettings;
use gridline_core::sync::protocol::{decode_body, SyncRequest};
use gridline_server::validate::{self, MessageLimits};

/// `sync_message`: one Automerge sync message through the server's validator. Whatever the validator
/// accepts, Automerge must decode too.
pub fn sync_message(data: &[u8]) -> Result<(), String> {
    let checked = validate::sync_message(data, &MessageLimits::default()).map_err(|e| e.code.to_string())?;
    let decoded = automerge::sync::Message::decode(data).expect("a validated message decodes");
    assert_eq!(checked.heads, decoded.heads, "validated heads are Automerge's");
    assert_eq!(checked.need, decoded.need, "validated needs are Automerge's");
    Ok(())
}

/// `sync_body`: a `POST /v1/sync` body through the protocol decoder, then every document's message through
/// the validator (an empty message is "nothing to say").
pub fn sync_body(data: &[u8]) -> Result<(), String> {
    let request = decode_body::<SyncRequest>(data).map_err(|e| e.code().to_string())?;
    for doc in &request.docs {
        if !doc.message.is_empty() {
            sync_message(&doc.message)?;
        }
    }
    Ok(())
}

/// `roster_csv`: a roster file through the core's parser, with the default special-care categories.
pub fn roster_csv(data: &[u8]) -> Result<(), String> {
    let settings = CommunitySettings::defaults("fuzz", "", "Asia/Shanghai");
    gridline_core::roster_csv::parse_roster_csv(data, 2026, &|t| settings.category(t).is_some())
        .map(|_| ())
        .map_err(|_| "roster_invalid".to_string())
}

// --- sync_request: one sync round through the server's engine ------------------------------------------

/// The community of the `sync_request` fixture (seeds name it in their document ids and scopes).
pub const SYNC_COMMUNITY: &str = "01935c00-0000-7000-8000-00000000c001";
/// The enrolled grid-leader device of the `sync_request` fixture (seeds author their changes as it).
pub const SYNC_DEVICE: &str = "01935c00-0000-7000-8000-00000000d001";
/// The grid the fixture's device leads.
pub const SYNC_GRID: &str = "G01";
/// The fixture's device's user name.
pub const SYNC_USER: &str = "fuzz-leader";

/// The fixture's clock: 2026-11-24 10:00 in Shanghai, the day of the seeds' check-ins.
pub fn sync_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_485_600, 0).unwrap_or_default()
}

/// The roster the fixture imports: grids G01 and G02, five households each (`G01-H0` … `G02-H4`).
pub fn sync_roster_csv() -> String {
    let mut s = format!("{}\n", gridline_core::roster_csv::ROSTER_HEADER);
    for g in ["G01", "G02"] {
        for n in 0..5 {
            s.push_str(&format!("{g},1,1,{f},{f}0{n},{g}-H{n},居民 {g} {n},F,1948,,,elderly_alone,\n", f = n % 6 + 1));
        }
    }
    s
}

/// A directory under the system temporary directory, removed on drop (fixtures live as long as their
/// thread: a fuzzing process leaves one behind when it exits).
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new(what: &str) -> ScratchDir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("gridline-fuzz-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server engine over SQLite with a community, its roster and one enrolled grid leader.
struct SyncFixture {
    engine: gridline_server::engine::Engine,
    device: gridline_server::storage::Device,
    _dir: ScratchDir,
}

impl SyncFixture {
    fn new() -> SyncFixture {
        use gridline_core::model::Role;
        use gridline_core::sync::protocol::EnrollRequest;
        use gridline_server::{admin, enrollment, limits::Quotas, storage::sqlite::SqliteStorage};
        let dir = ScratchDir::new("sync-request");
        let storage = SqliteStorage::open(&dir.0).expect("open server storage");
        // Quotas out of reach: a long run must not end up refusing every input for the day's volume.
        let quotas = Quotas {
            new_documents_per_day: u64::MAX / 4,
            document_bytes_per_day: u64::MAX / 4,
            blob_bytes_per_day: u64::MAX / 4,
        };
        let engine = gridline_server::engine::Engine::new(Box::new(storage), 64 << 20).with_quotas(quotas);
        let now = sync_now();
        admin::create_community_with_id(&engine, SYNC_COMMUNITY, "Fuzz community", "Asia/Shanghai")
            .expect("create community");
        admin::import_roster(&engine, SYNC_COMMUNITY, sync_roster_csv().as_bytes(), now).expect("import roster");
        let grids = [SYNC_GRID.to_string()];
        let code = enrollment::issue(engine.storage(), SYNC_COMMUNITY, SYNC_USER, Role::GridLeader, &grids, now)
            .expect("issue code");
        let public_key = gridline_core::sync::signing::public_key_hex(&[7; 32]);
        let req = EnrollRequest { code: code.code, public_key };
        enrollment::redeem_as(engine.storage(), &req, SYNC_DEVICE, now).expect("redeem code");
        let device = engine.storage().device(SYNC_DEVICE).expect("read device").expect("device enrolled");
        SyncFixture { engine, device, _dir: dir }
    }
}

thread_local! {
    static SYNC_FIXTURE: SyncFixture = SyncFixture::new();
}

/// An input that is not gzip (no `1f 8b` magic) gzipped, so that mutations of plain CBOR reach the decoder
/// whole instead of dying on the gzip checksum; a gzip input as it is.
fn gzipped(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::io::Write;
    if data.starts_with(&[0x1f, 0x8b]) {
        return std::borrow::Cow::Borrowed(data);
    }
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 2 + 32), flate2::Compression::fast());
    match e.write_all(data).and_then(|()| e.finish()) {
        Ok(gz) => std::borrow::Cow::Owned(gz),
        Err(_) => std::borrow::Cow::Borrowed(data),
    }
}

/// `sync_request`: a `POST /v1/sync` body from the enrolled grid leader (an input without the gzip magic is
/// plain CBOR, gzipped first), decoded as the route does and run through `Engine::sync` (validation, a fork
/// per document, the write checks, storage, the answer), whose response is encoded as the route does. The
/// fixture is prepared once per thread and keeps what earlier inputs stored.
pub fn sync_request(data: &[u8]) -> Result<(), String> {
    let body = gzipped(data);
    let request = decode_body::<SyncRequest>(&body).map_err(|_| "malformed_body".to_string())?;
    SYNC_FIXTURE.with(|f| {
        let (response, _) = f.engine.sync(&f.device, request, sync_now()).map_err(|e| e.code.to_string())?;
        gridline_core::sync::protocol::encode_body(&response).map_err(|e| e.code().to_string())?;
        Ok(())
    })
}

// --- bundle_import: a bundle file into a device store ---------------------------------------------------

/// The community of the `bundle_import` fixture (an honest bundle comes from another store of it).
pub const BUNDLE_COMMUNITY: &str = "01935c00-0000-7000-8000-00000000c002";
/// The fixture stores' clock: 2026-11-24 10:00 in Shanghai.
pub fn bundle_clock() -> std::sync::Arc<gridline_core::FixedClock> {
    std::sync::Arc::new(gridline_core::FixedClock(sync_now()))
}

/// The roster of the `bundle_import` fixture: grids A and B, three households each (`A000` … `B002`).
pub fn bundle_roster_csv() -> String {
    let mut s = format!("{}\n", gridline_core::roster_csv::ROSTER_HEADER);
    for g in ["A", "B"] {
        for i in 0..3 {
            s.push_str(&format!("{g},1,1,{f},{f}01,{g}{i:03},居民{i},F,1950,,,,\n", f = i + 1));
        }
    }
    s
}

/// A new grid-leader store of the bundle community in `dir` (every grid in scope), holding its roster.
pub fn bundle_store(dir: &std::path::Path, user: &str) -> gridline_core::Result<gridline_core::Store> {
    use gridline_core::store::InitOptions;
    let opts = InitOptions {
        community_name: "幸福社区".into(),
        community_id: Some(BUNDLE_COMMUNITY.into()),
        ..InitOptions::new(user, gridline_core::model::Role::GridLeader)
    };
    let mut store = gridline_core::Store::init(dir, &[7; 32], opts, bundle_clock())?;
    store.import_roster(bundle_roster_csv().as_bytes())?;
    Ok(store)
}

struct BundleFixture {
    store: std::cell::RefCell<gridline_core::Store>,
    file: std::path::PathBuf,
    _dir: ScratchDir,
}

thread_local! {
    static BUNDLE_FIXTURE: BundleFixture = {
        let dir = ScratchDir::new("bundle-import");
        let store = bundle_store(&dir.0.join("store"), "fuzz-receiver").expect("create the receiving store");
        BundleFixture { store: std::cell::RefCell::new(store), file: dir.0.join("input.bundle"), _dir: dir }
    };
}

/// `bundle_import`: a bundle file (gzip CBOR; an input without the gzip magic is plain CBOR, gzipped first)
/// imported into a grid-leader store of the bundle community (prepared once per thread; it keeps what earlier
/// inputs merged).
pub fn bundle_import(data: &[u8]) -> Result<(), String> {
    let file = gzipped(data);
    BUNDLE_FIXTURE.with(|f| {
        std::fs::write(&f.file, &file).map_err(|e| format!("io: {e}"))?;
        let mut store = f.store.try_borrow_mut().map_err(|_| "fixture_busy".to_string())?;
        store.bundle_import(&f.file).map(|_| ()).map_err(|e| e.code().to_string())
    })
}
