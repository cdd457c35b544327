//! Test support: the real `gridline-server` binary on a free loopback port, admin commands on its data
//! directory, and a minimal device written with the core protocol types and automerge directly.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, AutoCommit};
use ed25519_dalek::{Signer, SigningKey};
use gridline_core::docs::{self, DocId, DocKind};
use gridline_core::model::{CheckIn, CheckInKind, CheckInOutcome};
use gridline_core::sync::protocol::{
    decode_body, encode_body, ApiError, ChangeSignature, DocMessage, EnrollRequest, EnrollResponse, SyncRequest,
    SyncResponse, PROTOCOL_VERSION,
};
use serde_json::Value;

/// This build's server binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_gridline-server");

/// The server binary [`Server`] and [`admin`] run: `GRIDLINE_SERVER_BIN` when set (to measure another
/// build, e.g. an older release, with the same benches), else [`BIN`].
pub fn bin() -> String {
    std::env::var("GRIDLINE_SERVER_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// True when `GRIDLINE_SERVER_LEGACY` is set (non-empty, not `0`): the binary predates the `serve` flags of
/// the hardening (`--metrics-listen`, limits, TLS), so none is passed that the caller did not ask for.
pub fn legacy() -> bool {
    std::env::var("GRIDLINE_SERVER_LEGACY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A running server; killed on drop.
pub struct Server {
    pub child: Child,
    pub data: PathBuf,
    pub port: u16,
    pub http: reqwest::blocking::Client,
    /// `http` or `https`.
    pub scheme: &'static str,
}

/// How to start a server beyond its data directory and port.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Extra `serve` arguments. Without `--metrics-listen` among them, `--metrics-listen off` is passed so
    /// that parallel servers do not compete for the default metrics port.
    pub args: Vec<String>,
    /// PEM certificate to trust: the server is reached over https (pass `--tls-cert`/`--tls-key` in `args`).
    pub tls_root_pem: Option<Vec<u8>>,
    /// Pass no `--metrics-listen` at all (the server's default).
    pub default_metrics: bool,
}

impl ServerOptions {
    /// Options with these extra `serve` arguments.
    pub fn args(args: &[&str]) -> ServerOptions {
        ServerOptions { args: args.iter().map(|a| a.to_string()).collect(), ..ServerOptions::default() }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Server {
    /// Starts a server on `data` and waits (bounded) until `/healthz` answers.
    pub fn start(data: &Path) -> Server {
        Server::start_on(data, free_port())
    }

    pub fn start_on(data: &Path, port: u16) -> Server {
        Server::start_with_on(data, port, &ServerOptions::default())
    }

    /// Starts a server with `options` on a free port.
    pub fn start_with(data: &Path, options: &ServerOptions) -> Server {
        Server::start_with_on(data, free_port(), options)
    }

    pub fn start_with_on(data: &Path, port: u16, options: &ServerOptions) -> Server {
        let mut command = Command::new(bin());
        command.args(["serve", "--data"]).arg(data).args(["--listen", &format!("127.0.0.1:{port}")]);
        if !legacy() && !options.default_metrics && !options.args.iter().any(|a| a == "--metrics-listen") {
            command.args(["--metrics-listen", "off"]);
        }
        let child = command
            .args(&options.args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        let mut http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30));
        let mut scheme = "http";
        if let Some(pem) = &options.tls_root_pem {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(pem).expect("certificate"));
            scheme = "https";
        }
        let http = http.build().expect("client");
        let server = Server { child, data: data.to_path_buf(), port, http, scheme };
        server.wait_ready();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", self.scheme, self.port)
    }

    /// The server's peak resident memory so far (`VmHWM`), in KiB; 0 where `/proc` does not say.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }

    /// CPU time (user + system) the server process has used so far, exited threads included, from
    /// `/proc/<pid>/stat` in clock ticks of 10 ms (Linux's USER_HZ); zero where `/proc` does not say.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name start at field 3 (state); utime and stime are 14, 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<u64>().ok()).sum();
        Duration::from_millis(ticks * 10)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(self.url("/healthz")).send() {
                if r.status().is_success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not become ready");
    }

    pub fn healthy(&self) -> bool {
        self.http.get(self.url("/healthz")).send().map(|r| r.status().is_success()).unwrap_or(false)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `admin …` on this server's data directory, with `--json`; returns (success, document).
    pub fn admin(&self, args: &[&str]) -> (bool, Value) {
        admin(&self.data, args)
    }

    /// Creates a community, imports a roster with grids G01 and G02, returns the community id.
    pub fn community_with_roster(&self) -> String {
        let (ok, out) = self.admin(&["community", "create", "--name", "Test community"]);
        assert!(ok, "{out}");
        let community = out["community_id"].as_str().expect("community_id").to_string();
        let csv = self.data.join("roster.csv");
        std::fs::write(&csv, roster_csv(&["G01", "G02"], 5)).expect("write csv");
        let (ok, out) = self.admin(&["roster", "import", "--community", &community, csv.to_str().expect("path")]);
        assert!(ok, "{out}");
        community
    }

    /// The notes stored in a document, as a freshly enrolled station device receives them.
    pub fn stored_notes(&self, community: &str, doc_id: &str) -> Vec<(String, String)> {
        let mut observer = self.enroll(community, "observer", "station", &[]);
        observer.sync().expect("observer syncs");
        observer.notes(doc_id)
    }

    /// Issues a code and enrolls a device with it.
    pub fn enroll(&self, community: &str, user: &str, role: &str, grids: &[&str]) -> Device {
        let mut args = vec!["enroll", "--community", community, "--user", user, "--role", role];
        for g in grids {
            args.extend(["--grid", g]);
        }
        let (ok, out) = self.admin(&args);
        assert!(ok, "{out}");
        let code = out["code"].as_str().expect("code").to_string();
        Device::enroll(self, &code).expect("enroll")
    }

    /// POSTs raw bytes to `/v1/sync` with a token; returns status and body.
    pub fn post_sync_raw(&self, token: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
        // Large bodies go chunked (no Content-Length), so the server reads up to its limit before refusing
        // and the client sees the 413 rather than a connection closed mid-upload.
        let body = if body.len() > 1 << 20 { chunked(body) } else { reqwest::blocking::Body::from(body) };
        let mut req = self
            .http
            .post(self.url("/v1/sync"))
            .header("content-type", "application/cbor")
            .header("content-encoding", "gzip")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().expect("send");
        let status = res.status().as_u16();
        (status, res.bytes().expect("body").to_vec())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A body sent without Content-Length.
pub fn chunked(body: Vec<u8>) -> reqwest::blocking::Body {
    reqwest::blocking::Body::new(std::io::Cursor::new(body))
}

pub fn admin(data: &Path, args: &[&str]) -> (bool, Value) {
    let out =
        Command::new(bin()).arg("admin").arg("--data").arg(data).arg("--json").args(args).output().expect("run admin");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("admin {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), doc)
}

/// A roster CSV with `per_grid` households of one resident each per grid.
pub fn roster_csv(grids: &[&str], per_grid: usize) -> String {
    let mut s = String::from(
        "grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes\n",
    );
    for g in grids {
        for n in 0..per_grid {
            s.push_str(&format!(
                "{g},1,1,{f},{f}0{n},{g}-H{n},Resident {g} {n},F,1948,,,elderly_alone,\n",
                f = n % 6 + 1
            ));
        }
    }
    s
}

/// Decodes an error body.
pub fn api_error(body: &[u8]) -> ApiError {
    serde_json::from_slice(body).unwrap_or_else(|_| panic!("not an API error: {}", String::from_utf8_lossy(body)))
}

/// A minimal device: documents, sync states and cursor in memory.
#[derive(Debug)]
pub struct Device {
    pub info: EnrollResponse,
    pub key: SigningKey,
    pub docs: HashMap<String, AutoCommit>,
    pub states: HashMap<String, State>,
    pub cursor: u64,
    pub base: String,
    pub http: reqwest::blocking::Client,
    pub round_trips: u32,
    pub last_request_bytes: usize,
    pub last_response_bytes: usize,
}

impl Device {
    pub fn enroll(server: &Server, code: &str) -> Result<Device, ApiError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random");
        let key = SigningKey::from_bytes(&seed);
        let req = EnrollRequest { code: code.into(), public_key: hex::encode(key.verifying_key().as_bytes()) };
        let res = server.http.post(server.url("/v1/enroll")).json(&req).send().expect("send");
        if !res.status().is_success() {
            return Err(res.json().expect("error body"));
        }
        Ok(Device {
            info: res.json().expect("enroll response"),
            key,
            docs: HashMap::new(),
            states: HashMap::new(),
            cursor: 0,
            base: server.url(""),
            http: server.http.clone(),
            round_trips: 0,
            last_request_bytes: 0,
            last_response_bytes: 0,
        })
    }

    pub fn actor(&self) -> ActorId {
        ActorId::from(uuid::Uuid::parse_str(&self.info.device_id).expect("uuid").as_bytes().as_slice())
    }

    pub fn community(&self) -> &str {
        &self.info.community_id
    }

    /// The local document, created (with its scope) if absent.
    pub fn doc(&mut self, id: &DocId) -> &mut AutoCommit {
        let actor = self.actor();
        self.docs.entry(id.to_string()).or_insert_with(|| docs::new_document(id, &actor).expect("new doc"))
    }

    /// Writes an entity with a note into a document: in a check-in log, a `checkin/<id>` key gets an honest
    /// check-in of this device (the server binds check-ins to their author and roster).
    pub fn write(&mut self, id: &DocId, key: &str, note: &str) {
        if let (DocKind::CheckInLog, Some(check_in_id)) =
            (id.kind, key.strip_prefix(gridline_core::docs::checkin_log::CHECK_IN_PREFIX))
        {
            let c = self.check_in(id, check_in_id, note);
            return self.append_check_in(id, &c);
        }
        let doc = self.doc(id);
        docs::put_entity(doc, key, &vec![("note", docs::s(note))]).expect("put");
        doc.commit();
    }

    /// An honest check-in of this device in `log` (see [`check_in_by`]).
    pub fn check_in(&self, log: &DocId, check_in_id: &str, note: &str) -> CheckIn {
        check_in_by(&self.info.user, &self.info.device_id, log, check_in_id, note)
    }

    /// Appends a check-in to the local log `log`, true or not.
    pub fn append_check_in(&mut self, log: &DocId, c: &CheckIn) {
        let doc = self.doc(log);
        docs::checkin_log::append(doc, c).expect("append");
        doc.commit();
    }

    /// Signs the hashes of changes this device authored (for a relay by another device).
    pub fn sign(&self, hashes: &[automerge::ChangeHash]) -> Vec<ChangeSignature> {
        hashes
            .iter()
            .map(|h| ChangeSignature {
                change_hash: h.to_string(),
                device_id: self.info.device_id.clone(),
                signature: hex::encode(self.key.sign(h.as_ref()).to_bytes()),
            })
            .collect()
    }

    /// One raw round: returns the status and, on success, the decoded response.
    pub fn round(&mut self, docs: Vec<DocMessage>) -> Result<SyncResponse, (u16, ApiError)> {
        let req = SyncRequest { protocol: PROTOCOL_VERSION, cursor: self.cursor, docs };
        let body = encode_body(&req).expect("encode");
        self.last_request_bytes = body.len();
        let res = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(&self.info.token)
            .header("content-type", "application/cbor")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .map_err(|e| (0, ApiError::new("network", e.to_string())))?;
        let status = res.status().as_u16();
        let bytes = res.bytes().map_err(|e| (0, ApiError::new("network", e.to_string())))?;
        self.round_trips += 1;
        self.last_response_bytes = bytes.len();
        if status != 200 {
            return Err((status, api_error(&bytes)));
        }
        Ok(decode_body(&bytes).expect("decode response"))
    }

    /// Sync messages for every local document that has something to say.
    pub fn outgoing(&mut self, only: Option<&BTreeSet<String>>) -> Vec<DocMessage> {
        let mut out = Vec::new();
        for (id, doc) in self.docs.iter_mut() {
            if only.is_some_and(|o| !o.contains(id)) {
                continue;
            }
            if out.len() == gridline_core::sync::protocol::MAX_DOCS_PER_REQUEST {
                break;
            }
            let state = self.states.entry(id.clone()).or_default();
            if let Some(m) = doc.sync().generate_sync_message(state) {
                out.push(DocMessage { doc_id: id.clone(), message: m.encode(), signatures: vec![] });
            }
        }
        // In the core client's order (by document id: rosters before the logs that name their households).
        out.sort_by_key(|m| DocId::parse(&m.doc_id).ok());
        out
    }

    /// Applies a response: the server's messages, and the catalogue (documents to start syncing). Returns
    /// the documents the catalogue says differ from the local copy.
    pub fn apply(&mut self, res: &SyncResponse) -> BTreeSet<String> {
        let actor = self.actor();
        for m in &res.docs {
            let doc = self.docs.entry(m.doc_id.clone()).or_insert_with(|| AutoCommit::new().with_actor(actor.clone()));
            let state = self.states.entry(m.doc_id.clone()).or_default();
            doc.sync().receive_sync_message(state, Message::decode(&m.message).expect("message")).expect("receive");
        }
        let mut differ = BTreeSet::new();
        for e in &res.catalogue {
            let doc = self.docs.entry(e.doc_id.clone()).or_insert_with(|| AutoCommit::new().with_actor(actor.clone()));
            let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
            if heads != e.heads {
                // The server has news for this document: start a fresh session from the shared heads, or
                // Automerge would wait for the server to speak first and say nothing.
                if let Some(state) = self.states.get_mut(&e.doc_id) {
                    *state = State::decode(&state.encode()).unwrap_or_default();
                }
                differ.insert(e.doc_id.clone());
            }
        }
        self.cursor = res.cursor;
        differ
    }

    /// One round the way the core client sends it: each document's message carries every change since the
    /// heads it shares with the server, in document-id order (rosters before logs).
    pub fn push(&mut self, ids: &[DocId]) -> Result<SyncResponse, (u16, ApiError)> {
        let mut ids = ids.to_vec();
        ids.sort();
        let mut msgs = Vec::new();
        for id in ids {
            let text = id.to_string();
            let shared = self.states.get(&text).map(|s| s.shared_heads.clone()).unwrap_or_default();
            let doc = self.doc(&id);
            let chunk: Vec<u8> = doc.get_changes(&shared).iter().flat_map(|c| c.raw_bytes().to_vec()).collect();
            let heads = doc.get_heads();
            let message = Message {
                heads: heads.clone(),
                need: vec![],
                have: vec![automerge::sync::Have { last_sync: shared, bloom: Default::default() }],
                changes: vec![chunk].into(),
                flags: None,
                version: automerge::sync::MessageVersion::V2,
            };
            msgs.push(DocMessage { doc_id: text, message: message.encode(), signatures: vec![] });
        }
        self.round(msgs)
    }

    /// Syncs until nothing is left to say (bounded); returns the round trips used.
    pub fn sync(&mut self) -> Result<u32, (u16, ApiError)> {
        let start = self.round_trips;
        let mut docs = self.outgoing(None);
        for _ in 0..12 {
            let res = self.round(docs)?;
            let differ = self.apply(&res);
            docs = self.outgoing(None);
            if !res.more && differ.is_empty() && docs.is_empty() {
                break;
            }
        }
        Ok(self.round_trips - start)
    }

    pub fn ids(&mut self) -> BTreeSet<String> {
        self.docs.iter_mut().filter_map(|(k, d)| (!d.get_heads().is_empty()).then(|| k.clone())).collect()
    }

    /// Notes of every entity under root of a local document.
    pub fn notes(&self, id: &str) -> Vec<(String, String)> {
        let Some(doc) = self.docs.get(id) else { return vec![] };
        docs::entities(doc, "").filter_map(|(k, e)| e.opt_str("note").map(|n| (k, n))).collect()
    }
}

/// When support check-ins happen (the day of [`log_id`]).
pub const CHECK_IN_AT: &str = "2026-11-24T09:30:00+08:00";

/// An honest check-in by `user` on `device_id` in `log`: at the first household of the log's grid in
/// [`roster_csv`], at [`CHECK_IN_AT`].
pub fn check_in_by(user: &str, device_id: &str, log: &DocId, check_in_id: &str, note: &str) -> CheckIn {
    let grid = log.grid.clone().expect("a check-in log has a grid");
    CheckIn {
        check_in_id: check_in_id.into(),
        household_code: format!("{grid}-H0"),
        grid,
        kind: CheckInKind::Door,
        outcome: CheckInOutcome::Well,
        note: note.into(),
        photos: vec![],
        location: None,
        at: chrono::DateTime::parse_from_rfc3339(CHECK_IN_AT).expect("time"),
        author: user.into(),
        device_id: device_id.into(),
    }
}

/// Today's check-in log id of `grid`.
pub fn log_id(community: &str, grid: &str) -> DocId {
    DocId::check_in_log(community, grid, chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"))
}
