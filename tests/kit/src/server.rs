//! The real `gridline-server` for tests and benches: which binary runs, a process on a free loopback port
//! that is ready when [`Server`]'s constructors return, and `admin` commands on its data directory.
//!
//! Readiness has one probe everywhere (the Python tests of the bindings use the same): `GET /healthz`
//! answers 200, polled every [`READY_POLL`] for at most [`READY_WITHIN`]. A server that exits before it
//! is ready fails the test at once, with its exit status.

use crate::postgres::database_for;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridline_core::sync::protocol::ApiError;
use serde_json::Value;

use crate::device::Device;
use crate::roster::{Roster, Tags};

/// How long a spawned server may take to answer `/healthz`.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// How often readiness is probed.
pub const READY_POLL: Duration = Duration::from_millis(20);

const NAME: &str = "gridline-server";

/// A `gridline-server` binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerBin {
    path: PathBuf,
}

impl ServerBin {
    /// The binary at `path`, unless `GRIDLINE_SERVER_BIN` names another build to measure (e.g. an
    /// older release) with the same tests and benches.
    pub fn new(path: impl Into<PathBuf>) -> ServerBin {
        ServerBin { path: std::env::var_os("GRIDLINE_SERVER_BIN").map(PathBuf::from).unwrap_or(path.into()) }
    }

    /// This build's server: the one cargo put beside the running test or bench (`target/<profile>/`, where
    /// `CARGO_BIN_EXE_gridline-server` points in the server's own tests), built with cargo first when a
    /// lone `cargo test -p` of another package has not built it. `GRIDLINE_SERVER_BIN` overrides.
    pub fn this_build() -> ServerBin {
        ServerBin::new(workspace_binary("gridline-server", NAME))
    }

    /// The server if one is built (`GRIDLINE_SERVER_BIN`, else beside the running bench, else in the
    /// target directory's `release` or `debug`); `None` otherwise. Nothing is built.
    pub fn find() -> Option<ServerBin> {
        if let Some(path) = std::env::var_os("GRIDLINE_SERVER_BIN") {
            return Some(ServerBin { path: path.into() });
        }
        let target = target_dir();
        let candidates = [profile_dir().join(NAME), target.join("release").join(NAME), target.join("debug").join(NAME)];
        candidates.into_iter().find(|p| p.exists()).map(|path| ServerBin { path })
    }

    /// The binary's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `admin --data DATA --json ARGS…`; returns (success, the JSON document it printed).
    pub fn admin(&self, data: &Path, args: &[&str]) -> (bool, Value) {
        self.admin_on(data, database_for(data).as_deref(), args)
    }

    /// [`ServerBin::admin`], on the PostgreSQL database `database_url` when one is given.
    pub fn admin_on(&self, data: &Path, database_url: Option<&str>, args: &[&str]) -> (bool, Value) {
        let mut command = self.admin_command(data, database_url);
        let out = command
            .arg("--json")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {} admin: {e}", self.path.display()));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("admin {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.success(), doc)
    }

    /// `admin --data DATA [--database-url URL]`, for the caller to add arguments, input and environment.
    pub fn admin_command(&self, data: &Path, database_url: Option<&str>) -> Command {
        let mut command = Command::new(&self.path);
        command.arg("admin").arg("--data").arg(data);
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        command
    }

    /// [`ServerBin::admin`] that must succeed; returns the document.
    pub fn admin_ok(&self, data: &Path, args: &[&str]) -> Value {
        let (ok, doc) = self.admin(data, args);
        assert!(ok, "admin {args:?} failed: {doc}");
        doc
    }
}

/// `admin …` of this build's server on `data`; returns (success, document).
pub fn admin(data: &Path, args: &[&str]) -> (bool, Value) {
    ServerBin::this_build().admin(data, args)
}

/// True when `GRIDLINE_SERVER_LEGACY` is set (non-empty, not `0`): the binary predates the `serve` flags of
/// the hardening (`--metrics-listen`, limits, TLS), so none is passed that the caller did not ask for.
pub fn legacy() -> bool {
    std::env::var("GRIDLINE_SERVER_LEGACY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The target directory of this build (`CARGO_TARGET_DIR`, else the workspace's `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory cargo puts a profile's binaries in: the parent of the running test's `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let deps = exe.parent().unwrap_or(Path::new(""));
    match deps.file_name().is_some_and(|n| n == "deps") {
        true => deps.parent().unwrap_or(deps).to_path_buf(),
        false => target_dir().join("debug"),
    }
}

/// Binary `bin` of workspace package `package`, in the running test's profile; built with cargo when
/// missing (a lone `cargo test -p` builds only its own package's binaries).
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let dir = profile_dir();
    let path = dir.join(bin);
    if !path.exists() {
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--profile", &profile, "-p", package, "--bin", bin])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building {bin} failed");
    }
    path
}

/// A free loopback port (free when asked; another process may take it before it is used).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// How to start a server beyond its data directory and port.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Extra `serve` arguments. Without `--metrics-listen` among them, `--metrics-listen off` is passed so
    /// that parallel servers do not compete for the default metrics port (not to a legacy binary).
    pub args: Vec<String>,
    /// PEM certificate to trust: the server is reached over https (pass `--tls-cert`/`--tls-key` in `args`).
    pub tls_root_pem: Option<Vec<u8>>,
    /// Pass no `--metrics-listen` at all (the server's default).
    pub default_metrics: bool,
    /// The binary to run; [`ServerBin::this_build`] when `None`.
    pub bin: Option<ServerBin>,
    /// A PostgreSQL database to store everything in (`--database-url`, for `serve` and every `admin`
    /// command of the server); the data directory then holds only the console's replica files.
    pub database_url: Option<String>,
    /// Store in the data directory's SQLite even when [`SERVERS_ON_POSTGRES`](crate::postgres::SERVERS_ON_POSTGRES)
    /// moves every other server to PostgreSQL (a test of the SQLite store itself, e.g. the move from it).
    pub sqlite: bool,
}

impl ServerOptions {
    /// Options with these extra `serve` arguments.
    pub fn args(args: &[&str]) -> ServerOptions {
        ServerOptions { args: args.iter().map(|a| a.to_string()).collect(), ..ServerOptions::default() }
    }
}

/// A running `gridline-server serve`; killed on drop.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its data directory.
    pub data: PathBuf,
    /// Its API port on 127.0.0.1.
    pub port: u16,
    /// A client for it (trusting its certificate when it serves https).
    pub http: reqwest::blocking::Client,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The binary it runs.
    pub bin: ServerBin,
    options: ServerOptions,
}

impl Server {
    /// Starts a server on `data` (created if missing) on a free port; returns once it is ready.
    pub fn start(data: &Path) -> Server {
        Server::start_on(data, free_port())
    }

    /// Starts a server on `data` and `port` (e.g. again after [`Server::kill`]); returns once it is ready.
    pub fn start_on(data: &Path, port: u16) -> Server {
        Server::start_with_on(data, port, &ServerOptions::default())
    }

    /// Starts a server with `options` on a free port; returns once it is ready.
    pub fn start_with(data: &Path, options: &ServerOptions) -> Server {
        Server::start_with_on(data, free_port(), options)
    }

    /// Starts a server with `options` on `data` and `port`; returns once it is ready.
    pub fn start_with_on(data: &Path, port: u16, options: &ServerOptions) -> Server {
        std::fs::create_dir_all(data).expect("server data directory");
        let bin = options.bin.clone().unwrap_or_else(ServerBin::this_build);
        let mut http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30));
        let mut scheme = "http";
        if let Some(pem) = &options.tls_root_pem {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(pem).expect("certificate"));
            scheme = "https";
        }
        let mut options = options.clone();
        if options.database_url.is_none() && !options.sqlite {
            options.database_url = database_for(data);
        }
        let child = spawn(&bin, data, port, &options);
        let http = http.build().expect("client");
        let mut server = Server { child, data: data.to_path_buf(), port, http, scheme, bin, options };
        server.wait_ready();
        server
    }

    /// `<scheme>://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", self.scheme, self.port)
    }

    /// Whether `/healthz` answers 200 now.
    pub fn healthy(&self) -> bool {
        self.http.get(self.url("/healthz")).send().is_ok_and(|r| r.status().is_success())
    }

    /// The one readiness probe: [`Server::healthy`], every [`READY_POLL`], for at most [`READY_WITHIN`].
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        while !self.healthy() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited before it was ready: {status}", self.bin.path.display());
            }
            assert!(Instant::now() < deadline, "{} not ready within {READY_WITHIN:?}", self.url("/healthz"));
            std::thread::sleep(READY_POLL);
        }
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the process again, after [`Server::kill`] or a crash, on the same data, port and options;
    /// returns once it is ready.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.bin, &self.data, self.port, &self.options);
        self.wait_ready();
    }

    /// The PostgreSQL database the server stores everything in, when it was started with one.
    pub fn database_url(&self) -> Option<&str> {
        self.options.database_url.as_deref()
    }

    /// `admin` on this server's data directory and database, for the caller to add arguments.
    pub fn admin_command(&self) -> Command {
        self.bin.admin_command(&self.data, self.database_url())
    }

    /// `admin …` on this server's data directory, with `--json`; returns (success, document).
    pub fn admin(&self, args: &[&str]) -> (bool, Value) {
        self.bin.admin_on(&self.data, self.options.database_url.as_deref(), args)
    }

    /// [`Server::admin`] that must succeed; returns the document.
    pub fn admin_ok(&self, args: &[&str]) -> Value {
        let (ok, doc) = self.admin(args);
        assert!(ok, "admin {args:?} failed: {doc}");
        doc
    }

    /// Creates a community named `name`; returns its id.
    pub fn community(&self, name: &str) -> String {
        let out = self.admin_ok(&["community", "create", "--name", name]);
        out["community_id"].as_str().expect("community_id").to_string()
    }

    /// Imports roster file `csv` (written to the data directory as `file`) into `community`.
    pub fn import_roster(&self, community: &str, file: &str, csv: &str) -> Value {
        let path = self.data.join(file);
        std::fs::write(&path, csv).expect("write roster");
        self.admin_ok(&["roster", "import", "--community", community, path.to_str().expect("utf-8 path")])
    }

    /// Creates a community and imports a roster of five households in each of grids G01 and G02 (codes
    /// `G01-H0`…, every household `elderly_alone`); returns the community id.
    pub fn community_with_roster(&self) -> String {
        let community = self.community("Test community");
        let roster = Roster::grids(&["G01", "G02"]).households(5).tags(Tags::ElderlyAlone);
        self.import_roster(&community, "roster.csv", &roster.csv());
        community
    }

    /// Issues a one-time enrollment code for `user` with `role` in `grids`.
    pub fn enrollment_code(&self, community: &str, user: &str, role: &str, grids: &[&str]) -> String {
        let mut args = vec!["enroll", "--community", community, "--user", user, "--role", role];
        for g in grids {
            args.extend(["--grid", g]);
        }
        self.admin_ok(&args)["code"].as_str().expect("code").to_string()
    }

    /// Issues a code and enrolls a [`Device`] with it.
    pub fn enroll(&self, community: &str, user: &str, role: &str, grids: &[&str]) -> Device {
        let code = self.enrollment_code(community, user, role, grids);
        Device::enroll(self, &code).expect("enroll")
    }

    /// Enrolls a building lead (楼栋长) of `buildings` of `grid`.
    pub fn enroll_building_lead(&self, community: &str, user: &str, grid: &str, buildings: &[&str]) -> Device {
        let mut args = vec!["enroll", "--community", community, "--user", user, "--role", "building_lead"];
        args.extend(["--grid", grid]);
        for b in buildings {
            args.extend(["--building", b]);
        }
        let code = self.admin_ok(&args)["code"].as_str().expect("code").to_string();
        Device::enroll(self, &code).expect("enroll")
    }

    /// The notes stored in a document, as a freshly enrolled station device receives them.
    pub fn stored_notes(&self, community: &str, doc_id: &str) -> Vec<(String, String)> {
        let mut observer = self.enroll(community, "observer", "station", &[]);
        observer.sync().expect("observer syncs");
        observer.notes(doc_id)
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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `serve` of `bin` on `data` and `port` with `options`, output discarded.
fn spawn(bin: &ServerBin, data: &Path, port: u16, options: &ServerOptions) -> Child {
    let mut command = Command::new(&bin.path);
    command.args(["serve", "--data"]).arg(data).args(["--listen", &format!("127.0.0.1:{port}")]);
    if let Some(url) = &options.database_url {
        command.args(["--database-url", url]);
    }
    if !legacy() && !options.default_metrics && !options.args.iter().any(|a| a == "--metrics-listen") {
        command.args(["--metrics-listen", "off"]);
    }
    command
        .args(&options.args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.path.display()))
}

/// A body sent without Content-Length.
pub fn chunked(body: Vec<u8>) -> reqwest::blocking::Body {
    reqwest::blocking::Body::new(std::io::Cursor::new(body))
}

/// Decodes an API error body.
pub fn api_error(body: &[u8]) -> ApiError {
    serde_json::from_slice(body).unwrap_or_else(|_| panic!("not an API error: {}", String::from_utf8_lossy(body)))
}
