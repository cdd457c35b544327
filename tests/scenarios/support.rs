//! Helpers shared by the scenario tests: a grid leader's store with a roster, and a phone's link to the server
//! that shows a test every sync round. Rosters, the server process and seeded randomness come from the test
//! kit (`gridline-testkit`).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use gridline_core::model::Role;
use gridline_core::store::InitOptions;
use gridline_core::sync::http::HttpTransport;
use gridline_core::sync::protocol::{DeviceKey, EnrollRequest, EnrollResponse};
use gridline_core::sync::Transport;
use gridline_core::{Store, SystemClock};
use gridline_testkit::{Codes, Roster, Tags};

/// The scenarios' roster: `households` households in each of `grids`, one resident each, codes
/// `<grid>-H0000`…, every third household elderly and alone.
pub fn roster(grids: &[&str], households: usize) -> Roster {
    Roster::grids(grids).households(households).codes(Codes::Dashed(4)).tags(Tags::EveryThirdElderlyAlone)
}

/// Creates a standalone grid-leader store in `dir` with `households` households in grid G01.
pub fn grid_leader_store(dir: &Path, key: &[u8; 32], households: usize) -> Store {
    let opts =
        InitOptions { community_name: "幸福社区".into(), ..InitOptions::new("王网格长", Role::GridLeader) };
    let mut store = Store::init(dir, key, opts, Arc::new(SystemClock)).expect("init store");
    store.import_roster(roster(&["G01"], households).csv().as_bytes()).expect("import roster");
    store
}

/// What a [`Wire`] shows of each sync round: the phone's request body and the server's answer body.
pub type Observer = Box<dyn Fn(&[u8], &[u8]) + Send + Sync>;

/// The core's HTTP transport as a phone uses it — enrolling without a token and keeping the one the server
/// issues for everything after — with every sync round shown to an observer, so a test can check what went
/// over the wire.
pub struct Wire {
    base: String,
    http: Mutex<HttpTransport>,
    observe: Observer,
}

impl Wire {
    /// A link to the server at `base` that shows each sync round to `observe`.
    pub fn new(base: &str, observe: Observer) -> Wire {
        let http = HttpTransport::new(base, None, false).expect("transport");
        Wire { base: base.into(), http: Mutex::new(http), observe }
    }

    fn http(&self) -> MutexGuard<'_, HttpTransport> {
        self.http.lock().expect("transport lock")
    }
}

impl Transport for Wire {
    fn authenticated(&self) -> bool {
        self.http().authenticated()
    }

    fn device_keys(&self, etag: Option<&str>) -> gridline_core::Result<Option<(Vec<DeviceKey>, Option<String>)>> {
        self.http().device_keys(etag)
    }

    fn enroll(&self, request: &EnrollRequest) -> gridline_core::Result<EnrollResponse> {
        let answer = self.http().enroll(request)?;
        *self.http() = HttpTransport::new(&self.base, Some(&answer.token), false)?;
        Ok(answer)
    }

    fn sync(&self, body: &[u8]) -> gridline_core::Result<Vec<u8>> {
        let answer = self.http().sync(body)?;
        (self.observe)(body, &answer);
        Ok(answer)
    }

    fn blob_exists(&self, hash: &str) -> gridline_core::Result<bool> {
        self.http().blob_exists(hash)
    }

    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8]) -> gridline_core::Result<()> {
        self.http().put_blob(hash, mime, bytes)
    }

    fn get_blob(&self, hash: &str) -> gridline_core::Result<Vec<u8>> {
        self.http().get_blob(hash)
    }
}
