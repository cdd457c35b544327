//! Scale bench: 10,000 devices each sync a day's work against several `gridline-server` instances sharing
//! one PostgreSQL database, and the same workload against one instance on SQLite in the same run, printed
//! side by side with their ratio.
//!
//! ```text
//! eval "export $(tests/pg/cluster.sh start)"        # or any empty database
//! cargo bench -p gridline-server --bench scale -- \
//!     --database-url "$GRIDLINE_TEST_DATABASE_URL" --instances 2 --devices 10000
//! cargo bench -p gridline-server --bench scale      # one instance on SQLite only
//! ```
//!
//! Flags, each with an environment variable for runs that cannot pass arguments:
//! `--database-url URL` (`GRIDLINE_BENCH_DATABASE_URL`): the database the instances share; without it only
//! the SQLite run is made. `--instances N` (`GRIDLINE_BENCH_INSTANCES`, default 2); `--devices N`
//! (`GRIDLINE_BENCH_DEVICES`, default 10,000); `--communities N` (`GRIDLINE_BENCH_COMMUNITIES`, default 5);
//! `--clients N` (`GRIDLINE_BENCH_CLIENTS`, default 48: devices syncing at once); `--no-compare`
//! (`GRIDLINE_BENCH_COMPARE=0`): no SQLite run after the PostgreSQL one; `--serve-args "ARGS"`
//! (`GRIDLINE_BENCH_SERVE_ARGS`): more `serve` flags for every instance, e.g. `--max-in-flight 8`.
//!
//! The district: communities of equal size (2,000 devices each by default), two grid leaders per grid,
//! [`HOUSEHOLDS`] households per grid. Setup, not timed: communities and rosters through `admin`; enrollment
//! codes issued in-process by the function `admin enroll` runs (ten thousand admin processes would take
//! minutes); each device enrolled over HTTP and synced once, empty, so that it starts the day with its
//! catalogue cursor as a phone that synced yesterday does.
//!
//! The timed day: every device, `--clients` at a time in a shuffled order, writes its day — [`CHECK_INS`]
//! check-ins in its grid's day log (shared with the grid's other leader), one incident reported and commented
//! on twice (what a grid leader may do; the server adds its receipt), [`VISITS`] home visits in the grid's
//! month log — and syncs it the way the core's client does: exact messages carrying every change the server
//! lacks, then whatever the catalogue announces (the other leader's incident and check-ins). Every request
//! goes to an instance chosen at random, so a device's rounds land on different instances. A 429 or 503 with
//! `Retry-After` is waited out (plus up to 50 % jitter) and retried on any instance; the wait counts in the
//! device's sync time. A device's day is generated just before it syncs and dropped after.
//!
//! Printed: wall time, device syncs per second, p50/p99/max per-device sync time, round trips, peak RSS
//! (VmHWM) of each instance, on-CPU time of the instances, of PostgreSQL and of the bench's own clients (all
//! on the same machine), storage growth per 10,000 device-days (`pg_database_size`; the SQLite data
//! directory), 429s served and errors. Targets (PRODUCT.md §8), with PASS or FAIL: all devices done ≤ 5 min,
//! p99 ≤ 2 s, peak RSS ≤ 500 MB per instance, no 5xx and no failed device.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use automerge::sync::{Have, Message, MessageVersion};
use gridline_core::docs::{incident, visit_log, DocId};
use gridline_core::model::{CheckIn, CheckInKind, IncidentEvent, IncidentFields, Role, Severity, Visit, VisitKind};
use gridline_core::sync::protocol::{
    decode_body, encode_body, ApiError, DocMessage, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use gridline_server::enrollment;
use gridline_server::storage::postgres::PgStorage;
use gridline_server::storage::sqlite::SqliteStorage;
use gridline_server::storage::Storage;
use gridline_testkit::{log_id, Device, Rng, Roster, Server, ServerOptions, Tags, CHECK_IN_AT};

use common::{metric, ms, parallel, percentile};

/// Check-ins per device and day.
const CHECK_INS: usize = 40;
/// Comments after the report of the day's incident (report + comments = the device's incident actions).
const COMMENTS: usize = 2;
/// Home visits per device and day.
const VISITS: usize = 2;
/// Households per grid.
const HOUSEHOLDS: usize = 20;
/// Grid leaders per grid.
const LEADERS: usize = 2;
/// Rounds a device's sync may take before it counts as failed.
const MAX_ROUNDS: u32 = 8;
/// Answers with `Retry-After` one request may get before the device gives up.
const MAX_ATTEMPTS: u32 = 40;
/// Longest `Retry-After` waited out (a longer one, a daily quota, fails the device).
const MAX_RETRY_AFTER: u64 = 60;
/// Threads enrolling devices during setup.
const SETUP_THREADS: usize = 16;

/// Targets of PRODUCT.md §8 for 10,000 devices on two instances.
const TARGET_WALL: Duration = Duration::from_secs(300);
const TARGET_P99: Duration = Duration::from_secs(2);
const TARGET_RSS_MB: f64 = 500.0;

const NOTES: [&str; 4] = [
    "checked in, all well",
    "checked in, neighbours say the lift is slow again",
    "blood pressure taken, asked about the meal service",
    "not feeling well, daughter will visit tonight",
];

const USAGE: &str = "usage: scale [--database-url URL] [--instances N] [--devices N] [--communities N] \
                     [--clients N] [--no-compare] [--serve-args \"ARGS\"]";

/// What to run.
#[derive(Debug, Clone)]
struct Options {
    database_url: Option<String>,
    instances: usize,
    devices: usize,
    communities: usize,
    clients: usize,
    compare: bool,
    serve_args: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn number(flag: &str, text: &str) -> Result<usize, String> {
    text.replace(['_', ','], "").parse().ok().filter(|n| *n > 0).ok_or(format!("{flag}: {text:?} is not a count"))
}

impl Options {
    /// The flags after `--`, over their environment variables, over the defaults.
    fn parse() -> Result<Options, String> {
        let from_env = |name: &str, flag: &str, default: usize| env(name).map_or(Ok(default), |v| number(flag, &v));
        let database_url = env("GRIDLINE_BENCH_DATABASE_URL");
        let mut o = Options {
            instances: from_env("GRIDLINE_BENCH_INSTANCES", "--instances", 2)?,
            devices: from_env("GRIDLINE_BENCH_DEVICES", "--devices", 10_000)?,
            communities: from_env("GRIDLINE_BENCH_COMMUNITIES", "--communities", 5)?,
            clients: from_env("GRIDLINE_BENCH_CLIENTS", "--clients", 48)?,
            compare: env("GRIDLINE_BENCH_COMPARE").is_none_or(|v| v != "0"),
            serve_args: env("GRIDLINE_BENCH_SERVE_ARGS")
                .map_or(vec![], |v| v.split_whitespace().map(String::from).collect()),
            database_url,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            let mut value = || inline.clone().or_else(|| args.next()).ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--database-url" => o.database_url = Some(value()?),
                "--instances" => o.instances = number(&flag, &value()?)?,
                "--devices" => o.devices = number(&flag, &value()?)?,
                "--communities" => o.communities = number(&flag, &value()?)?,
                "--clients" => o.clients = number(&flag, &value()?)?,
                "--compare" => o.compare = true,
                "--no-compare" => o.compare = false,
                "--serve-args" => o.serve_args = value()?.split_whitespace().map(String::from).collect(),
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        o.communities = o.communities.min(o.devices.div_ceil(LEADERS));
        Ok(o)
    }
}

/// Where the instances store everything.
#[derive(Debug, Clone)]
enum Backend {
    Postgres(String),
    Sqlite,
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Postgres(_) => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// Answers counted over a run, by every client thread.
#[derive(Default)]
struct Tally {
    /// HTTP requests sent (retries included).
    requests: AtomicU64,
    /// 429 answers.
    limited: AtomicU64,
    /// 503 answers with `Retry-After`.
    unavailable: AtomicU64,
    /// Time spent waiting out `Retry-After`, in ms.
    waited_ms: AtomicU64,
    /// Answers that failed a device, by status (0: no answer) and error code.
    failures: Mutex<BTreeMap<String, u64>>,
    /// The first failures in words.
    examples: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, status: u16, what: &str) {
        let code = what.split_whitespace().next().unwrap_or("");
        *self.failures.lock().expect("failures").entry(format!("{status} {code}")).or_default() += 1;
        let mut examples = self.examples.lock().expect("examples");
        if examples.len() < 5 {
            examples.push(format!("{status} {what}"));
        }
    }

    fn server_errors(&self) -> u64 {
        let failures = self.failures.lock().expect("failures");
        let failed: u64 = failures.iter().filter(|(k, _)| k.starts_with('5')).map(|(_, n)| n).sum();
        failed + self.unavailable.load(Ordering::Relaxed)
    }
}

/// An API error body in words, or the start of whatever the body was.
fn describe(body: &[u8]) -> String {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => format!("{} {}", e.code, e.message),
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

/// One sync round of `d` on an instance chosen at random, honouring `Retry-After` (on another random
/// instance each time). The failure is (status, error in words); status 0 when no answer came.
fn post_round(
    d: &mut Device,
    bases: &[String],
    rng: &mut Rng,
    docs: Vec<DocMessage>,
    tally: &Tally,
) -> Result<SyncResponse, (u16, String)> {
    let body = encode_body(&SyncRequest { protocol: PROTOCOL_VERSION, cursor: d.cursor, docs })
        .map_err(|e| (0, format!("encode {e}")))?;
    for _ in 0..MAX_ATTEMPTS {
        let base = &bases[rng.below(bases.len() as u64) as usize];
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let res = d
            .http
            .post(format!("{base}/v1/sync"))
            .bearer_auth(&d.info.token)
            .header("content-type", "application/cbor")
            .header("content-encoding", "gzip")
            .body(body.clone())
            .send()
            .map_err(|e| (0, format!("network {e}")))?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .filter(|s| *s <= MAX_RETRY_AFTER);
        let bytes = res.bytes().map_err(|e| (0, format!("network {e}")))?;
        d.round_trips += 1;
        match (status, retry_after) {
            (200, _) => return decode_body(&bytes).map_err(|e| (200, format!("undecodable answer: {e}"))),
            (429 | 503, Some(seconds)) => {
                let counter = if status == 429 { &tally.limited } else { &tally.unavailable };
                counter.fetch_add(1, Ordering::Relaxed);
                let jitter = 1.0 + rng.below(500) as f64 / 1000.0;
                let wait = Duration::from_secs(seconds).max(Duration::from_millis(100)).mul_f64(jitter);
                tally.waited_ms.fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
                std::thread::sleep(wait);
            }
            _ => return Err((status, describe(&bytes))),
        }
    }
    Err((429, format!("rate_limited still after {MAX_ATTEMPTS} attempts")))
}

/// The core client's first message for each of `ids`: the device's heads, a `have` naming them with an empty
/// Bloom filter, and every change since the heads it shares with the server (one round trip per document).
fn exact_messages(d: &mut Device, ids: &[String]) -> Vec<DocMessage> {
    let mut ids: Vec<DocId> = ids.iter().filter_map(|s| DocId::parse(s).ok()).collect();
    ids.sort();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let text = id.to_string();
        let shared = d.states.get(&text).map(|s| s.shared_heads.clone()).unwrap_or_default();
        let doc = d.doc(&id);
        let shared: Vec<_> = shared.into_iter().filter(|h| doc.get_change_by_hash(h).is_some()).collect();
        let chunk: Vec<u8> = doc.get_changes(&shared).iter().flat_map(|c| c.raw_bytes().to_vec()).collect();
        let heads = doc.get_heads();
        let message = Message {
            heads: heads.clone(),
            need: vec![],
            have: vec![Have { last_sync: heads, bloom: Default::default() }],
            changes: if chunk.is_empty() { Vec::<Vec<u8>>::new().into() } else { vec![chunk].into() },
            flags: None,
            version: MessageVersion::V2,
        };
        out.push(DocMessage { doc_id: text, message: message.encode(), signatures: vec![] });
    }
    out
}

/// Syncs everything `d` wrote, then what the catalogue announces, until nothing differs; returns the rounds.
fn sync_day(d: &mut Device, bases: &[String], rng: &mut Rng, tally: &Tally) -> Result<u32, (u16, String)> {
    let mut ids: Vec<String> = d.docs.keys().cloned().collect();
    let mut rounds = 0;
    loop {
        let docs = exact_messages(d, &ids);
        let res = post_round(d, bases, rng, docs, tally)?;
        rounds += 1;
        let differ = d.apply(&res);
        if differ.is_empty() && !res.more {
            return Ok(rounds);
        }
        if rounds >= MAX_ROUNDS {
            return Err((0, format!("unsettled after {MAX_ROUNDS} rounds")));
        }
        ids = differ.into_iter().collect();
    }
}

/// Device `n`'s day in `grid` (it is leader `leader` of the grid): check-ins, an incident, visits.
fn write_day(d: &mut Device, grid: &str, n: usize, leader: usize) {
    let community = d.community().to_string();
    let at = chrono::DateTime::parse_from_rfc3339(CHECK_IN_AT).expect("time");
    let (user, device_id) = (d.info.user.clone(), d.info.device_id.clone());
    let household = |i: usize| format!("{grid}-H{}", (i + leader * HOUSEHOLDS / LEADERS) % HOUSEHOLDS);
    let log = log_id(&community, grid);
    for i in 0..CHECK_INS {
        let c = CheckIn {
            household_code: household(i),
            kind: if i % 4 == 3 { CheckInKind::Phone } else { CheckInKind::Door },
            note: NOTES[i % NOTES.len()].into(),
            at: at + chrono::Duration::minutes(10 * i as i64),
            ..d.check_in(&log, &format!("{n}-{i}"), "")
        };
        d.append_check_in(&log, &c);
    }

    let incident_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::incident(&community, grid, &incident_id);
    let fields = IncidentFields {
        incident_id,
        grid: grid.into(),
        category: "facility_repair".into(),
        severity: Severity::Normal,
        title: "Stairwell light out".into(),
        description: "the light on the third floor has been out for two days".into(),
        household_code: Some(household(0)),
        location: None,
        photos: vec![],
        check_in_id: None,
        reporter: user.clone(),
        reporter_device: device_id.clone(),
        at,
    };
    let event = |action: &str, note: &str, minutes: i64| IncidentEvent {
        note: note.into(),
        ..IncidentEvent::new(
            action,
            &user,
            &device_id,
            "grid_leader",
            (at + chrono::Duration::minutes(minutes)).to_rfc3339(),
        )
    };
    let doc = d.doc(&id);
    incident::create(doc, &fields, &event("report", "", 0)).expect("incident");
    doc.commit();
    for k in 0..COMMENTS {
        incident::append_event(doc, &event("comment", "residents on the floor use torches", 60 * (k as i64 + 1)))
            .expect("comment");
        doc.commit();
    }

    let visits = DocId::visit_log(&community, grid, "2026-11");
    for v in 0..VISITS {
        let visit = Visit {
            visit_id: format!("{n}-v{v}"),
            household_code: household(2 * v + 1),
            grid: grid.into(),
            residents: vec![],
            kind: VisitKind::Home,
            at: at + chrono::Duration::hours(2 + v as i64),
            day: at.date_naive(),
            duration_min: Some(30),
            services: vec!["life_care".into(), "companionship".into()],
            needs: String::new(),
            need_tags: vec![],
            follow_up: None,
            satisfaction: Some(5),
            photos: vec![],
            author: user.clone(),
            device_id: device_id.clone(),
        };
        let doc = d.doc(&visits);
        visit_log::append(doc, &visit).expect("visit");
        doc.commit();
    }
}

/// User and system CPU time of process `pid` (`self` for this one); with `children`, also of its waited-for
/// children. Zero where `/proc` does not say.
fn cpu_of(pid: &str, children: bool) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name start at field 3 (state); utime..cstime are 14 to 17.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let take = if children { 4 } else { 2 };
    let ticks: u64 = rest.split_whitespace().skip(11).take(take).filter_map(|t| t.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time of process `pid`'s live threads, by thread name: the request and engine threads (tokio's), the
/// console's feed, the PostgreSQL driver.
fn thread_cpu(pid: u32) -> BTreeMap<String, Duration> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for t in tasks.flatten() {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let Some((head, _)) = stat.rsplit_once(')') else { continue };
        let name = head.split_once('(').map_or("", |(_, n)| n);
        // Tokio's workers and blocking threads: the requests and the engine's work.
        let name = if name.starts_with("tokio") { "tokio (requests)" } else { name };
        let task = format!("{pid}/task/{}", t.file_name().to_string_lossy());
        *out.entry(name.to_string()).or_default() += cpu_of(&task, false);
    }
    out
}

/// CPU time of a PostgreSQL cluster: its postmaster (with the backends that exited) and its live children.
fn cluster_cpu(postmaster: u32) -> Duration {
    let mut total = cpu_of(&postmaster.to_string(), true);
    let Ok(entries) = std::fs::read_dir("/proc") else { return total };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{name}/stat")).unwrap_or_default();
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        if rest.split_whitespace().nth(1) == Some(postmaster.to_string().as_str()) {
            total += cpu_of(&name, false);
        }
    }
    total
}

/// CPU time the whole machine has spent busy so far (all cores; `/proc/stat`), zero where it does not say.
fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else { return Duration::ZERO };
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    let ticks: Vec<u64> = cpu.split_whitespace().skip(1).take(8).filter_map(|t| t.parse().ok()).collect();
    let busy: u64 = ticks.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    Duration::from_millis(busy * 10)
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Bytes of every file under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Runs `f` with a connection to the database at `url`; `None` (and a line on standard error) on failure.
fn with_database<T>(
    url: &str,
    f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
) -> Option<T> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let out = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let out = f(&client).await;
        drop(client);
        let _ = driver.await;
        out
    });
    out.map_err(|e| eprintln!("scale: database query failed: {e}")).ok()
}

fn database_size(url: &str) -> Option<u64> {
    with_database(url, async |c| c.query_one("SELECT pg_database_size(current_database())", &[]).await?.try_get(0))
        .map(|n: i64| n.max(0) as u64)
}

/// The largest tables of the database (with their indexes and TOAST).
fn largest_tables(url: &str) -> Vec<(String, u64)> {
    let sql = "SELECT c.relname::text, pg_total_relation_size(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               ORDER BY 2 DESC LIMIT 6";
    with_database(url, async |c| {
        c.query(sql, &[]).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)?.max(0) as u64))).collect()
    })
    .unwrap_or_default()
}

/// What the database's sessions do, sampled every 200 ms until `stop`: (samples taken, state and wait event →
/// sessions seen so). `idle in transaction / Client:ClientRead` is a transaction waiting for its instance.
fn sample_sessions(url: &str, stop: &AtomicBool) -> (u64, BTreeMap<String, u64>) {
    let sql = "SELECT state, COALESCE(wait_event_type || ':' || wait_event, 'on CPU') FROM pg_stat_activity
               WHERE datname = current_database() AND backend_type = 'client backend'
               AND pid <> pg_backend_pid() AND state <> 'idle'";
    with_database(url, async |c| {
        let statement = c.prepare(sql).await?;
        let (mut samples, mut seen) = (0u64, BTreeMap::new());
        while !stop.load(Ordering::Relaxed) {
            for r in c.query(&statement, &[]).await? {
                let (state, wait): (Option<String>, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
                *seen.entry(format!("{} / {}", state.unwrap_or_default(), wait.unwrap_or_default())).or_default() += 1;
            }
            samples += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok((samples, seen))
    })
    .unwrap_or_default()
}

/// The postmaster's process id, when the cluster runs on this machine and says where its data is.
fn postmaster_pid(url: &str) -> Option<u32> {
    let dir: String = with_database(url, async |c| {
        c.query_one("SELECT setting FROM pg_settings WHERE name = 'data_directory'", &[]).await?.try_get(0)
    })?;
    let text = std::fs::read_to_string(Path::new(&dir).join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// A device's sync as the workload saw it.
struct Outcome {
    time: Duration,
    rounds: u32,
    ok: bool,
    /// Answered 429 (or 503) at least once.
    told_to_wait: bool,
}

/// The figures of one backend's run.
struct Figures {
    backend: &'static str,
    instances: usize,
    devices: usize,
    setup: Duration,
    wall: Duration,
    /// Per-device sync times, ascending (failed devices included, as long as they took).
    times: Vec<Duration>,
    failed: usize,
    /// Devices answered 429 (or 503) at least once, and the sync times of the others (ascending).
    told_to_wait: usize,
    unwaited: Vec<Duration>,
    rounds_max: u32,
    rounds_mean: f64,
    requests: u64,
    limited: u64,
    /// 429s the instances count as shed for being busy (`gridline_shed_total`).
    shed: u64,
    unavailable: u64,
    waited: Duration,
    server_errors: u64,
    failures: BTreeMap<String, u64>,
    examples: Vec<String>,
    /// Peak RSS of each instance after the day, and after the console replicas caught up, in MB.
    rss: Vec<f64>,
    rss_final: Vec<f64>,
    cpu_servers: Vec<Duration>,
    /// Each instance's CPU time by thread name.
    cpu_threads: Vec<BTreeMap<String, Duration>>,
    cpu_database: Option<Duration>,
    cpu_bench: Duration,
    /// The whole machine's busy time during the day (the rest is other processes' work).
    cpu_machine: Duration,
    /// Storage growth over the day, and what was measured.
    growth: Option<u64>,
    storage_what: &'static str,
    /// Console replica files of the instances after catching up.
    replica_bytes: u64,
    replica_catch_up: Vec<Option<Duration>>,
    load_during: String,
    /// PostgreSQL's sessions during the day (see [`sample_sessions`]).
    sessions: Option<(u64, BTreeMap<String, u64>)>,
}

/// The timed day: every device writes its day and syncs it, `clients` at a time.
fn day(
    devices: Vec<(usize, Device)>,
    clients: usize,
    grids: &[String],
    per_community: usize,
    bases: &[String],
    tally: &Tally,
    outcomes: &Mutex<Vec<Outcome>>,
) {
    parallel(devices, clients, |(n, mut d)| {
        let grid = grids[n % per_community / LEADERS].clone();
        write_day(&mut d, &grid, n, n % LEADERS);
        let mut rng = Rng::new((n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        d.round_trips = 0;
        let t = Instant::now();
        let result = sync_day(&mut d, bases, &mut rng, tally);
        let time = t.elapsed();
        let (ok, rounds) = match result {
            Ok(rounds) => (true, rounds),
            Err((status, what)) => {
                tally.fail(status, &what);
                (false, 0)
            }
        };
        let told_to_wait = ok && d.round_trips > rounds;
        outcomes.lock().expect("outcomes").push(Outcome { time, rounds, ok, told_to_wait });
    });
}

/// Instances started, communities and rosters imported, devices enrolled: ready for the day.
struct District {
    /// The instances' data directories (deleted on drop, after the instances).
    dirs: Vec<tempfile::TempDir>,
    servers: Vec<Server>,
    /// Each instance's `/metrics` address.
    metrics: Vec<String>,
    /// Each instance's base URL.
    bases: Vec<String>,
    /// Grid codes of a community (every community has the same).
    grids: Vec<String>,
    per_community: usize,
    /// (device number, device), shuffled.
    devices: Vec<(usize, Device)>,
    http: reqwest::blocking::Client,
    setup: Duration,
}

/// Starts `instances` instances on `backend` and sets up the district (see the module doc).
fn set_up(o: &Options, backend: &Backend, instances: usize) -> District {
    let start = Instant::now();
    let dirs: Vec<tempfile::TempDir> = (0..instances).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let metrics: Vec<String> = (0..instances).map(|_| format!("127.0.0.1:{}", gridline_testkit::free_port())).collect();
    let servers: Vec<Server> = dirs
        .iter()
        .zip(&metrics)
        .map(|(dir, addr)| {
            let mut args = vec!["--metrics-listen", addr.as_str()];
            args.extend(o.serve_args.iter().map(String::as_str));
            let options = ServerOptions {
                database_url: match backend {
                    Backend::Postgres(url) => Some(url.clone()),
                    Backend::Sqlite => None,
                },
                ..ServerOptions::args(&args)
            };
            Server::start_with(dir.path(), &options)
        })
        .collect();
    let bases: Vec<String> = servers.iter().map(|s| s.url("")).collect();
    println!("server binary: {} {}", servers[0].bin.path().display(), o.serve_args.join(" "));

    // Communities and rosters (admin commands), then codes issued in-process by `admin enroll`'s function.
    let per_community = o.devices.div_ceil(o.communities);
    let grids_per_community = per_community.div_ceil(LEADERS);
    let grids: Vec<String> = (0..grids_per_community).map(|g| format!("G{g:04}")).collect();
    let roster = Roster::grids(&grids).households(HOUSEHOLDS).tags(Tags::ElderlyAlone).csv();
    let communities: Vec<String> = (0..o.communities)
        .map(|c| {
            let id = servers[0].community(&format!("Community {c}"));
            servers[0].import_roster(&id, "roster.csv", &roster);
            id
        })
        .collect();
    println!(
        "{} communities of {grids_per_community} grids × {HOUSEHOLDS} households imported in {:.1} s",
        communities.len(),
        start.elapsed().as_secs_f64()
    );
    let storage: Box<dyn Storage> = match backend {
        Backend::Postgres(url) => Box::new(PgStorage::open(url).expect("open the database")),
        Backend::Sqlite => Box::new(SqliteStorage::open(&servers[0].data).expect("open the SQLite store")),
    };
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
    let tally = Tally::default();
    let enrolled: Mutex<Vec<(usize, Device)>> = Mutex::new(Vec::with_capacity(o.devices));
    let t = Instant::now();
    parallel((0..o.devices).collect(), SETUP_THREADS, |n| {
        let (community, grid) = (&communities[n / per_community], &grids[n % per_community / LEADERS]);
        let code = enrollment::issue(
            storage.as_ref(),
            community,
            &format!("leader {n}"),
            Role::GridLeader,
            std::slice::from_ref(grid),
            chrono::Utc::now(),
        )
        .expect("issue a code")
        .code;
        let mut d = Device::enroll(&servers[n % instances], &code).expect("enroll");
        d.http = http.clone();
        let mut rng = Rng::new(n as u64 + 1);
        let res = post_round(&mut d, &bases, &mut rng, vec![], &tally).expect("first (empty) sync");
        d.apply(&res);
        // What a phone keeps between days beyond its store: enrollment, key and cursor.
        d.docs = Default::default();
        d.states = Default::default();
        enrolled.lock().expect("devices").push((n, d));
    });
    let mut devices = enrolled.into_inner().expect("devices");
    println!("{} devices enrolled and synced once in {:.1} s", devices.len(), t.elapsed().as_secs_f64());
    let mut rng = Rng::new(0x5ca1e);
    for i in (1..devices.len()).rev() {
        devices.swap(i, rng.below(i as u64 + 1) as usize);
    }
    District { dirs, servers, metrics, bases, grids, per_community, devices, http, setup: start.elapsed() }
}

/// CPU time so far: of each instance (in all, and by thread), of PostgreSQL's cluster, of this process.
struct CpuSnapshot {
    /// The whole machine's busy time.
    machine: Duration,
    servers: Vec<Duration>,
    threads: Vec<BTreeMap<String, Duration>>,
    database: Option<Duration>,
    bench: Duration,
}

impl CpuSnapshot {
    fn take(servers: &[Server], postmaster: Option<u32>) -> CpuSnapshot {
        CpuSnapshot {
            machine: machine_busy(),
            servers: servers.iter().map(Server::cpu_time).collect(),
            threads: servers.iter().map(|s| thread_cpu(s.child.id())).collect(),
            database: postmaster.map(cluster_cpu),
            bench: cpu_of("self", false),
        }
    }

    /// The time spent since `before`; threads that exited meanwhile are counted under their own name.
    fn since(&self, before: &CpuSnapshot) -> CpuSnapshot {
        let servers: Vec<Duration> =
            self.servers.iter().zip(&before.servers).map(|(now, then)| now.saturating_sub(*then)).collect();
        let threads = self
            .threads
            .iter()
            .zip(&before.threads)
            .zip(&servers)
            .map(|((now, then), total)| {
                let mut spent: BTreeMap<String, Duration> = now
                    .iter()
                    .map(|(name, t)| (name.clone(), t.saturating_sub(then.get(name).copied().unwrap_or_default())))
                    .collect();
                let live: Duration = spent.values().sum();
                spent.insert("threads that exited".into(), total.saturating_sub(live));
                spent
            })
            .collect();
        CpuSnapshot {
            machine: self.machine.saturating_sub(before.machine),
            servers,
            threads,
            database: self.database.zip(before.database).map(|(now, then)| now.saturating_sub(then)),
            bench: self.bench.saturating_sub(before.bench),
        }
    }
}

/// Sets up `instances` instances on `backend`, enrolls the devices, runs the day and measures it.
fn run(o: &Options, backend: &Backend, instances: usize) -> Figures {
    println!("\n== {}: {instances} instance(s), {} devices ==", backend.name(), o.devices);
    let District { dirs, servers, metrics, bases, grids, per_community, devices, http, setup } =
        set_up(o, backend, instances);
    let postmaster = match backend {
        Backend::Postgres(url) => postmaster_pid(url),
        Backend::Sqlite => None,
    };
    let shed = || -> u64 { metrics.iter().filter_map(|addr| metric(&http, addr, "gridline_shed_total")).sum() };
    let (size_before, shed_before) = (storage_size(backend, &servers), shed());
    let cpu_before = CpuSnapshot::take(&servers, postmaster);
    let tally = Tally::default();
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(devices.len()));
    let start = Instant::now();
    let stop = AtomicBool::new(false);
    let sessions = std::thread::scope(|scope| {
        let sampler = match backend {
            Backend::Postgres(url) => Some(scope.spawn(|| sample_sessions(url, &stop))),
            Backend::Sqlite => None,
        };
        day(devices, o.clients, &grids, per_community, &bases, &tally, &outcomes);
        stop.store(true, Ordering::Relaxed);
        sampler.and_then(|s| s.join().ok())
    });
    let wall = start.elapsed();
    let load_during = load_average();
    let cpu = CpuSnapshot::take(&servers, postmaster).since(&cpu_before);
    let rss: Vec<f64> = servers.iter().map(|s| s.peak_rss_kib() as f64 / 1024.0).collect();
    let shed = shed().saturating_sub(shed_before);
    let size_after = storage_size(backend, &servers);
    println!("day done in {:.1} s; waiting for the console replicas …", wall.as_secs_f64());

    let replica_catch_up = servers.iter().zip(&metrics).map(|(s, addr)| replica_catch_up(s, addr)).collect();
    let rss_final = servers.iter().map(|s| s.peak_rss_kib() as f64 / 1024.0).collect();
    let replica_bytes = dirs.iter().map(|d| dir_size(&d.path().join("console"))).sum();
    if let Backend::Postgres(url) = backend {
        let tables: Vec<String> =
            largest_tables(url).iter().map(|(t, b)| format!("{t} {:.0} MB", *b as f64 / 1e6)).collect();
        println!("largest tables: {}", tables.join(", "));
    }
    let outcomes = outcomes.into_inner().expect("outcomes");
    let sorted = |keep: &dyn Fn(&Outcome) -> bool| {
        let mut times: Vec<Duration> = outcomes.iter().filter(|o| keep(o)).map(|o| o.time).collect();
        times.sort();
        times
    };
    let done: Vec<&Outcome> = outcomes.iter().filter(|o| o.ok).collect();
    let figures = Figures {
        backend: backend.name(),
        instances,
        devices: outcomes.len(),
        setup,
        wall,
        times: sorted(&|_| true),
        failed: outcomes.len() - done.len(),
        told_to_wait: outcomes.iter().filter(|o| o.told_to_wait).count(),
        unwaited: sorted(&|o| o.ok && !o.told_to_wait),
        rounds_max: done.iter().map(|o| o.rounds).max().unwrap_or(0),
        rounds_mean: done.iter().map(|o| f64::from(o.rounds)).sum::<f64>() / done.len().max(1) as f64,
        requests: tally.requests.load(Ordering::Relaxed),
        limited: tally.limited.load(Ordering::Relaxed),
        shed,
        unavailable: tally.unavailable.load(Ordering::Relaxed),
        waited: Duration::from_millis(tally.waited_ms.load(Ordering::Relaxed)),
        server_errors: tally.server_errors(),
        failures: tally.failures.lock().expect("failures").clone(),
        examples: tally.examples.lock().expect("examples").clone(),
        rss,
        rss_final,
        cpu_servers: cpu.servers,
        cpu_threads: cpu.threads,
        cpu_database: cpu.database,
        cpu_bench: cpu.bench,
        cpu_machine: cpu.machine,
        growth: size_before.zip(size_after).map(|(b, a)| a.saturating_sub(b)),
        storage_what: match backend {
            Backend::Postgres(_) => "pg_database_size",
            Backend::Sqlite => "SQLite files",
        },
        replica_bytes,
        replica_catch_up,
        load_during,
        sessions,
    };
    print_run(&figures);
    figures
}

/// Bytes of the store the instances share: the database, or the SQLite files (not the console's replica).
fn storage_size(backend: &Backend, servers: &[Server]) -> Option<u64> {
    match backend {
        Backend::Postgres(url) => database_size(url),
        Backend::Sqlite => {
            let data = &servers[0].data;
            Some(dir_size(data).saturating_sub(dir_size(&data.join("console"))))
        }
    }
}

/// How long the console's replica of the instance takes to hold everything the day wrote (bounded).
fn replica_catch_up(server: &Server, addr: &str) -> Option<Duration> {
    let t = Instant::now();
    while metric(&server.http, addr, "gridline_console_replica_behind").is_none_or(|b| b > 0) {
        if t.elapsed() > Duration::from_secs(600) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(t.elapsed())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

impl Figures {
    fn p(&self, q: f64) -> Duration {
        percentile(&self.times, q)
    }

    fn per_second(&self) -> f64 {
        self.devices as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn peak_rss(&self) -> f64 {
        self.rss_final.iter().chain(&self.rss).fold(0.0, |a, b| a.max(*b))
    }

    /// Storage per 10,000 device-days, in bytes.
    fn per_10k(&self) -> Option<f64> {
        self.growth.map(|g| g as f64 / self.devices.max(1) as f64 * 10_000.0)
    }
}

fn print_run(f: &Figures) {
    let list = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" / ");
    println!("setup (not timed): {:.1} s; load average as the day ended: {}", f.setup.as_secs_f64(), f.load_during);
    println!(
        "all {} devices done in {:.1} s: {:.1} device syncs per second [target ≤ {} s: {}]",
        f.devices,
        f.wall.as_secs_f64(),
        f.per_second(),
        TARGET_WALL.as_secs(),
        verdict(f.wall <= TARGET_WALL)
    );
    println!(
        "per-device sync: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms [target p99 ≤ {} ms: {}]",
        ms(f.p(0.5)),
        ms(f.p(0.99)),
        ms(f.p(1.0)),
        TARGET_P99.as_millis(),
        verdict(f.p(0.99) <= TARGET_P99)
    );
    println!(
        "  of the {} devices never told to wait: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} were told to wait)",
        f.unwaited.len(),
        ms(percentile(&f.unwaited, 0.5)),
        ms(percentile(&f.unwaited, 0.99)),
        ms(percentile(&f.unwaited, 1.0)),
        f.told_to_wait
    );
    println!("round trips per device: mean {:.2}, max {}; {} requests in all", f.rounds_mean, f.rounds_max, f.requests);
    println!(
        "peak RSS (VmHWM) per instance: {} MB after the day, {} MB after the replicas caught up [target ≤ {TARGET_RSS_MB:.0} MB: {}]",
        list(&f.rss),
        list(&f.rss_final),
        verdict(f.peak_rss() <= TARGET_RSS_MB)
    );
    let cpu: Vec<String> = f.cpu_servers.iter().map(|c| format!("{:.1}", c.as_secs_f64())).collect();
    println!(
        "on-CPU time during the day: instances {} s, PostgreSQL {}, bench clients {:.1} s (2 cores × {:.0} s = {:.0} s available)",
        cpu.join(" / "),
        f.cpu_database.map_or("-".to_string(), |c| format!("{:.1} s", c.as_secs_f64())),
        f.cpu_bench.as_secs_f64(),
        f.wall.as_secs_f64(),
        2.0 * f.wall.as_secs_f64()
    );
    let ours = f.cpu_servers.iter().sum::<Duration>() + f.cpu_database.unwrap_or_default() + f.cpu_bench;
    println!(
        "  the machine was busy {:.1} s in all: {:.1} s of it other processes' (builds, other tests)",
        f.cpu_machine.as_secs_f64(),
        f.cpu_machine.saturating_sub(ours).as_secs_f64()
    );
    for (i, threads) in f.cpu_threads.iter().enumerate() {
        let parts: Vec<String> = threads
            .iter()
            .filter(|(_, t)| t.as_millis() >= 100)
            .map(|(name, t)| format!("{name} {:.1} s", t.as_secs_f64()))
            .collect();
        println!("  instance {} by thread: {}", i + 1, parts.join(", "));
    }
    if let Some((samples, seen)) = &f.sessions {
        let mut seen: Vec<(&String, &u64)> = seen.iter().collect();
        seen.sort_by(|a, b| b.1.cmp(a.1));
        let busy: u64 = seen.iter().map(|(_, n)| **n).sum();
        let parts: Vec<String> = seen
            .iter()
            .take(6)
            .map(|(what, n)| format!("{what} {:.2}", **n as f64 / (*samples).max(1) as f64))
            .collect();
        println!(
            "PostgreSQL sessions not idle, mean over {samples} samples: {:.2} — {}",
            busy as f64 / (*samples).max(1) as f64,
            parts.join(", ")
        );
    }
    match (f.growth, f.per_10k()) {
        (Some(g), Some(p)) => println!(
            "storage growth ({}): {:.1} MB, {:.1} KB per device-day, {:.0} MB per 10,000 device-days",
            f.storage_what,
            mb(g),
            g as f64 / f.devices.max(1) as f64 / 1e3,
            p / 1e6
        ),
        _ => println!("storage growth: not measured"),
    }
    let catch_up: Vec<String> = f
        .replica_catch_up
        .iter()
        .map(|c| c.map_or("not within 600 s".into(), |d| format!("{:.1} s", d.as_secs_f64())))
        .collect();
    println!(
        "console replicas caught up {} after the day; their files: {:.0} MB",
        catch_up.join(" / "),
        mb(f.replica_bytes)
    );
    println!(
        "429s served: {} ({} shed for load by the instances' count); 503s: {}; time spent waiting out Retry-After: {:.1} s",
        f.limited,
        f.shed,
        f.unavailable,
        f.waited.as_secs_f64()
    );
    println!(
        "failed devices: {}; 5xx: {} [target 0: {}]",
        f.failed,
        f.server_errors,
        verdict(f.failed == 0 && f.server_errors == 0)
    );
    for (kind, n) in &f.failures {
        println!("  {kind}: {n}");
    }
    for e in &f.examples {
        println!("  e.g. {e}");
    }
    if f.server_errors > 0 {
        println!("  BUG: the server answered 5xx");
    }
}

/// The runs side by side, the first against the last (the SQLite baseline).
fn print_comparison(runs: &[Figures]) {
    let [first, .., base] = runs else { return };
    let name = |f: &Figures| format!("{} ×{}", f.backend, f.instances);
    println!("\n== side by side: {} against {} (same workload, same run) ==", name(first), name(base));
    println!("{:<36} {:>16} {:>16} {:>8}", "", name(first), name(base), "ratio");
    let row = |label: &str, a: f64, b: f64, unit: &str| {
        let ratio = if b > 0.0 { format!("{:.2}×", a / b) } else { "-".into() };
        println!("{label:<36} {:>16} {:>16} {ratio:>8}", format!("{a:.1}{unit}"), format!("{b:.1}{unit}"));
    };
    row("all devices done", first.wall.as_secs_f64(), base.wall.as_secs_f64(), " s");
    row("device syncs per second", first.per_second(), base.per_second(), "");
    row("per-device sync p50", ms(first.p(0.5)), ms(base.p(0.5)), " ms");
    row("per-device sync p99", ms(first.p(0.99)), ms(base.p(0.99)), " ms");
    row("per-device sync max", ms(first.p(1.0)), ms(base.p(1.0)), " ms");
    row("peak RSS, largest instance", first.peak_rss(), base.peak_rss(), " MB");
    let cpu = |f: &Figures| f.cpu_servers.iter().map(Duration::as_secs_f64).sum::<f64>();
    row("instances' on-CPU time", cpu(first), cpu(base), " s");
    if let (Some(a), Some(b)) = (first.per_10k(), base.per_10k()) {
        row("storage per 10,000 device-days", a / 1e6, b / 1e6, " MB");
    }
    row("429s served", first.limited as f64, base.limited as f64, "");
    row(
        "failed devices + 5xx",
        (first.failed as u64 + first.server_errors) as f64,
        (base.failed as u64 + base.server_errors) as f64,
        "",
    );
}

fn main() {
    let o = match Options::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("scale: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // The servers would read it themselves and put the SQLite run on PostgreSQL.
    std::env::remove_var("GRIDLINE_DATABASE_URL");
    if gridline_testkit::postgres::servers_on_postgres() {
        std::env::remove_var(gridline_testkit::postgres::SERVERS_ON_POSTGRES);
    }
    println!(
        "scale bench: {} devices ({} communities, {LEADERS} grid leaders per grid), each a day of {CHECK_INS} \
         check-ins, an incident with {} actions and {VISITS} visits; {} clients at once",
        o.devices,
        o.communities,
        1 + COMMENTS,
        o.clients
    );
    println!(
        "load average before: {} ({} cores)",
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut runs = Vec::new();
    if let Some(url) = &o.database_url {
        runs.push(run(&o, &Backend::Postgres(url.clone()), o.instances));
    }
    if o.database_url.is_none() || o.compare {
        runs.push(run(&o, &Backend::Sqlite, 1));
    }
    print_comparison(&runs);
}
