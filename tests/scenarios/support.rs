//! Helpers shared by the scenario tests: temporary stores with a roster, deterministic randomness.

use std::path::Path;
use std::sync::Arc;

use gridline_core::model::Role;
use gridline_core::store::InitOptions;
use gridline_core::{Store, SystemClock};

/// A roster CSV of `households` households in grid `grid`, one resident each, every third elderly and alone.
pub fn roster_csv(grid: &str, households: usize) -> String {
    let mut csv = String::from(
        "grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes\n",
    );
    for n in 0..households {
        let tags = if n % 3 == 0 { "elderly_alone" } else { "" };
        let (building, floor) = (n / 60 + 1, (n % 60) / 4 + 1);
        csv.push_str(&format!(
            "{grid},{building},1,{floor},{floor}0{},{grid}-H{n:04},居民{n},F,1945,,,{tags},\n",
            n % 4 + 1
        ));
    }
    csv
}

/// Creates a standalone grid-leader store in `dir` with `households` households in grid G01.
pub fn grid_leader_store(dir: &Path, key: &[u8; 32], households: usize) -> Store {
    let opts =
        InitOptions { community_name: "幸福社区".into(), ..InitOptions::new("王网格长", Role::GridLeader) };
    let mut store = Store::init(dir, key, opts, Arc::new(SystemClock)).expect("init store");
    store.import_roster(roster_csv("G01", households).as_bytes()).expect("import roster");
    store
}

/// A small deterministic pseudo-random generator (xorshift64*), so failing runs can be replayed by seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// The next number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// A `gridline-server` process on a free loopback port with its own data directory; killed on drop.
pub struct ServerProcess {
    child: std::process::Child,
    /// The data directory.
    pub data: std::path::PathBuf,
    /// The base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
}

/// A binary of this workspace (debug profile), built on first use when a lone `cargo test -p` has not.
pub fn workspace_binary(package: &str, bin: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or(root.join("target"));
    let path = target.join("debug").join(bin);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", package, "--bin", bin])
            .current_dir(&root)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building {bin} failed");
    }
    path
}

/// The `gridline-server` binary.
pub fn server_binary() -> std::path::PathBuf {
    workspace_binary("gridline-server", "gridline-server")
}

/// True when this workspace's `gridline-server` can serve (its `serve --help` succeeds). Before the server
/// lands the sync scenarios have nothing to run against and say so instead of failing.
pub fn server_available() -> bool {
    std::process::Command::new(server_binary())
        .args(["serve", "--help"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--listen"))
}

impl ServerProcess {
    /// Starts a server on a new data directory inside `dir`, waiting (bounded) until `/healthz` answers.
    pub fn start(dir: &Path) -> ServerProcess {
        let data = dir.join("server-data");
        std::fs::create_dir_all(&data).expect("data dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        ServerProcess::start_on(&data, port)
    }

    /// Starts (or restarts) a server on `data` and `port`.
    pub fn start_on(data: &Path, port: u16) -> ServerProcess {
        let child = std::process::Command::new(server_binary())
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn gridline-server");
        let server = ServerProcess { child, data: data.to_path_buf(), url: format!("http://127.0.0.1:{port}"), port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !server.healthy() {
            assert!(std::time::Instant::now() < deadline, "gridline-server did not become ready");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }

    fn healthy(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let request = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port);
        let mut answer = String::new();
        s.write_all(request.as_bytes()).is_ok() && s.read_to_string(&mut answer).is_ok() && answer.contains(" 200 ")
    }

    /// Kills the server with SIGKILL and waits for it; returns its port for a restart.
    pub fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }

    /// `gridline-server admin --data DATA --json ARGS…`; panics with the error document on failure.
    pub fn admin(&self, args: &[&str]) -> serde_json::Value {
        let out = std::process::Command::new(server_binary())
            .arg("admin")
            .arg("--data")
            .arg(&self.data)
            .arg("--json")
            .args(args)
            .output()
            .expect("run gridline-server admin");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        assert!(out.status.success(), "admin {args:?} failed: {doc} {}", String::from_utf8_lossy(&out.stderr));
        doc
    }

    /// Issues a one-time enrollment code.
    pub fn enrollment_code(&self, community: &str, user: &str, role: &str, grids: &[&str]) -> String {
        let mut args = vec!["enroll", "--community", community, "--user", user, "--role", role];
        for g in grids {
            args.extend(["--grid", g]);
        }
        self.admin(&args)["code"].as_str().expect("code").to_string()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
