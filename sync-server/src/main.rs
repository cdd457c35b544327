//! `gridline-server`: `serve` the relay, or run an `admin` command on its data directory.

use gridline_core::ErrorCode;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gridline_core::{Clock, FixedClock, SystemClock};
use gridline_server::api::App;
use gridline_server::console::{self, announce_setup_link, Console};
use gridline_server::engine::Engine;
use gridline_server::error::{Result, ServerError};
use gridline_server::limits::{Admission, Quotas, RateLimit, ADMISSION_WAIT, ADMISSION_WAITING};
use gridline_server::metrics::Metrics;
use gridline_server::storage::postgres::PgStorage;
use gridline_server::storage::sqlite::SqliteStorage;
use gridline_server::storage::Storage;
use gridline_server::transport::{self, TransportConfig};
use gridline_server::{admin, api, config, staff};
use serde_json::Value;

#[derive(Parser)]
#[command(name = "gridline-server", version, about = "Gridline relay server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of `Serve`'s flags costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Data directory (SQLite database; with --database-url, only the console's replica files).
        #[arg(long, default_value = "./gridline-data")]
        data: PathBuf,
        /// PostgreSQL database to store everything in instead of SQLite (`postgres://user@host:port/db`).
        #[arg(long, env = "GRIDLINE_DATABASE_URL", value_name = "URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Memory budget of the hot-document cache, in MiB.
        #[arg(long, default_value_t = 128)]
        cache_mb: usize,
        #[command(flatten)]
        limits: LimitFlags,
        #[command(flatten)]
        transport: TransportArgs,
    },
    /// Administration (works while `serve` runs).
    Admin {
        /// Data directory (SQLite database).
        #[arg(long, global = true, default_value = "./gridline-data")]
        data: PathBuf,
        /// PostgreSQL database of the server, instead of the data directory's SQLite.
        #[arg(long, global = true, env = "GRIDLINE_DATABASE_URL", value_name = "URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Print exactly one JSON document.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Per-device limits of `serve` (defaults in `gridline_server::limits`).
#[derive(Args)]
struct LimitFlags {
    /// Sustained sync and blob requests per second per device.
    #[arg(long)]
    rate_per_second: Option<f64>,
    /// Requests a device may make at once after a quiet spell.
    #[arg(long)]
    rate_burst: Option<f64>,
    /// New documents per device per day.
    #[arg(long)]
    quota_new_documents: Option<u64>,
    /// Change bytes per device and document per day.
    #[arg(long)]
    quota_document_bytes: Option<u64>,
    /// Photo bytes per device per day.
    #[arg(long)]
    quota_blob_bytes: Option<u64>,
    /// Device requests whose work runs at once (default: the server's blocking threads).
    #[arg(long)]
    max_in_flight: Option<usize>,
    /// Device requests that may wait for a turn; more are answered 429 with Retry-After.
    #[arg(long)]
    max_waiting: Option<usize>,
    /// Milliseconds a device request may wait for a turn before it is answered 429 with Retry-After.
    #[arg(long)]
    max_wait_ms: Option<u64>,
}

impl LimitFlags {
    fn quotas(&self) -> Quotas {
        let d = Quotas::default();
        Quotas {
            new_documents_per_day: self.quota_new_documents.unwrap_or(d.new_documents_per_day),
            document_bytes_per_day: self.quota_document_bytes.unwrap_or(d.document_bytes_per_day),
            blob_bytes_per_day: self.quota_blob_bytes.unwrap_or(d.blob_bytes_per_day),
        }
    }

    fn admission(&self) -> Admission {
        Admission::new(
            self.max_in_flight.unwrap_or(api::BLOCKING_THREADS),
            self.max_waiting.unwrap_or(ADMISSION_WAITING),
            self.max_wait_ms.map_or(ADMISSION_WAIT, Duration::from_millis),
        )
    }

    fn rate(&self) -> RateLimit {
        let d = RateLimit::default();
        RateLimit {
            per_second: self.rate_per_second.filter(|r| *r > 0.0).unwrap_or(d.per_second),
            burst: self.rate_burst.filter(|b| *b >= 1.0).unwrap_or(d.burst),
        }
    }
}

/// Connection limits, TLS and the metrics listener of `serve`.
#[derive(Args)]
struct TransportArgs {
    /// PEM certificate chain: serve HTTPS (with --tls-key). Without it the server speaks plain HTTP, meant for
    /// loopback behind a TLS reverse proxy.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The server runs behind a TLS reverse proxy on loopback: the console's cookies are marked Secure, and
    /// the client address of a request from loopback is read from `X-Forwarded-For` (sign-in throttling and
    /// the audit log count the staff member's address, not the proxy's).
    #[arg(long)]
    behind_proxy: bool,
    /// Connections open at once; more wait briefly, then are closed.
    #[arg(long, default_value_t = transport::MAX_CONNECTIONS)]
    max_connections: usize,
    /// Address of the Prometheus `/metrics` listener, or `off` [default: 127.0.0.1:9187, skipped with a warning
    /// when that port is taken].
    #[arg(long, value_name = "ADDR|off")]
    metrics_listen: Option<String>,
    /// Request head timeout in ms (tests shorten it).
    #[arg(long, hide = true)]
    header_timeout_ms: Option<u64>,
    /// Request body timeout in ms (tests shorten it).
    #[arg(long, hide = true)]
    body_timeout_ms: Option<u64>,
    /// Keep-alive idle timeout in ms (tests shorten it).
    #[arg(long, hide = true)]
    idle_timeout_ms: Option<u64>,
    /// TLS handshake timeout in ms (tests shorten it).
    #[arg(long, hide = true)]
    handshake_timeout_ms: Option<u64>,
}

/// Where `/metrics` is served when `--metrics-listen` is not given: loopback, so only the host's own
/// monitoring reads it.
const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9187";

/// The metrics listener takes few connections: one scraper, now and then.
const METRICS_MAX_CONNECTIONS: usize = 16;

impl TransportArgs {
    fn config(&self) -> Result<TransportConfig> {
        let ms = |flag: Option<u64>, default: Duration| flag.map_or(default, Duration::from_millis);
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(transport::tls_config(cert, key)?),
            _ => None,
        };
        Ok(TransportConfig {
            header_timeout: ms(self.header_timeout_ms, transport::HEADER_TIMEOUT),
            body_timeout: ms(self.body_timeout_ms, transport::BODY_TIMEOUT),
            idle_timeout: ms(self.idle_timeout_ms, transport::IDLE_TIMEOUT),
            handshake_timeout: ms(self.handshake_timeout_ms, transport::HANDSHAKE_TIMEOUT),
            max_connections: self.max_connections,
            tls,
            ..TransportConfig::default()
        })
    }

    /// The metrics listener, bound: `None` when off, or when the default port is taken (a warning; an
    /// explicit address that cannot be bound is an error).
    async fn metrics_listener(&self) -> Result<Option<tokio::net::TcpListener>> {
        let (text, explicit) = match self.metrics_listen.as_deref() {
            Some("off") => return Ok(None),
            Some(text) => (text, true),
            None => (DEFAULT_METRICS_LISTEN, false),
        };
        let addr: SocketAddr = text
            .parse()
            .map_err(|e| ServerError::bad_request(ErrorCode::InvalidInput, format!("--metrics-listen {text}: {e}")))?;
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => Ok(Some(listener)),
            Err(e) if !explicit => {
                tracing::warn!(addr = %addr, error = %e, "metrics listener not started (port taken?); serving without /metrics");
                Ok(None)
            }
            Err(e) => Err(ServerError::from(e)),
        }
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Communities.
    Community {
        #[command(subcommand)]
        command: CommunityCommand,
    },
    /// Rosters.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
    /// The community's configuration as one JSON document (catalogues, love-supermarket items, deadlines).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Issue a one-time enrollment code (valid 72 h).
    Enroll {
        /// Community id.
        #[arg(long)]
        community: String,
        /// User name.
        #[arg(long)]
        user: String,
        /// Role code (grid_leader, grid_worker, social_worker, building_lead, committee, station, street, admin,
        /// volunteer).
        #[arg(long)]
        role: String,
        /// Grid code (repeat for several; required for grid roles, refused for a volunteer).
        #[arg(long = "grid")]
        grids: Vec<String>,
        /// Building name (repeat for several; required for a building lead, refused for every other role).
        #[arg(long = "building")]
        buildings: Vec<String>,
    },
    /// Devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Console staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Write a consistent copy of the SQLite store to a new file while the server runs (SQLite only: a
    /// PostgreSQL database is backed up with pg_dump or continuous archiving).
    Backup {
        /// The file to create.
        #[arg(long)]
        to: PathBuf,
    },
    /// Move a single-machine deployment (the SQLite store in --from-data) into the empty PostgreSQL database
    /// --database-url: everything, in one transaction, compared with the source before it commits. Stop
    /// `serve` on the data directory first; devices then sync with a server on the database, unchanged.
    Migrate {
        /// Data directory holding the SQLite store (only read).
        #[arg(long, value_name = "DIR")]
        from_data: PathBuf,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a console account (argon2id password; asked on the terminal unless --password-stdin).
    Add {
        /// Community id.
        #[arg(long)]
        community: String,
        /// Sign-in name.
        #[arg(long)]
        user: String,
        /// Role: committee, station, street or admin.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (its sessions end).
    Passwd {
        /// Sign-in name.
        #[arg(long)]
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (its sessions end; its actor may write nothing more).
    Disable {
        /// Sign-in name.
        #[arg(long)]
        user: String,
    },
    /// List accounts.
    List {
        /// Only this community's.
        #[arg(long)]
        community: Option<String>,
    },
}

/// The password of `admin staff add|passwd`: the first line of standard input (with `--password-stdin`, or
/// when standard input is not a terminal), else asked twice on the terminal.
fn read_password(from_stdin: bool) -> Result<String> {
    use std::io::{BufRead, IsTerminal, Read};
    let io = |e: std::io::Error| ServerError::bad_request(ErrorCode::IoError, format!("password: {e}"));
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        // One line of at most a few kilobytes: a password, never a whole file.
        std::io::stdin().lock().take(4096).read_line(&mut line).map_err(io)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    eprint!("password: ");
    let mut first = String::new();
    std::io::stdin().lock().read_line(&mut first).map_err(io)?;
    eprint!("again: ");
    let mut second = String::new();
    std::io::stdin().lock().read_line(&mut second).map_err(io)?;
    if first != second {
        return Err(ServerError::bad_request(ErrorCode::InvalidInput, "password: the two entries differ"));
    }
    Ok(first.trim_end_matches(['\r', '\n']).to_string())
}

#[derive(Subcommand)]
enum CommunityCommand {
    /// Create a community with the default configuration.
    Create {
        /// Name.
        #[arg(long)]
        name: String,
        /// IANA time zone.
        #[arg(long, default_value = gridline_core::model::DEFAULT_TIME_ZONE)]
        timezone: String,
    },
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Import a roster CSV into the community's grid rosters.
    Import {
        /// Community id.
        #[arg(long)]
        community: String,
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the configuration and its revision (the file `set` takes, once edited).
    Show {
        /// Community id.
        #[arg(long)]
        community: String,
    },
    /// Replace the whole configuration with FILE's (what `show` printed, edited): checked as a whole, and
    /// refused when the configuration changed since the revision FILE names.
    Set {
        /// Community id.
        #[arg(long)]
        community: String,
        /// The JSON file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// List enrolled devices.
    List,
    /// Revoke a device.
    Revoke {
        /// Device id.
        device_id: String,
    },
}

/// The bytes of `file`, refused (`invalid_input`) past `limit` without reading more than one byte over it.
fn read_bounded(file: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |e: std::io::Error| ServerError::bad_request(ErrorCode::IoError, format!("{}: {e}", file.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(file).map_err(io)?.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ServerError::bad_request(
            ErrorCode::InvalidInput,
            format!("{}: larger than {limit} bytes", file.display()),
        ));
    }
    Ok(bytes)
}

fn clock() -> Result<Arc<dyn Clock>> {
    match std::env::var("GRIDLINE_NOW") {
        Ok(text) => {
            let at = chrono::DateTime::parse_from_rfc3339(&text)
                .map_err(|e| ServerError::bad_request(ErrorCode::InvalidInput, format!("GRIDLINE_NOW: {e}")))?;
            Ok(Arc::new(FixedClock(at.with_timezone(&chrono::Utc))))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

/// The engine over PostgreSQL when a database URL is given, else over the SQLite file in `data`.
fn open_engine(data: &Path, database_url: Option<&str>, cache_mb: usize) -> Result<Engine> {
    let storage: Box<dyn Storage> = match database_url {
        Some(url) => Box::new(PgStorage::open(url)?),
        None => Box::new(SqliteStorage::open(data)?),
    };
    Ok(Engine::new(storage, cache_mb.saturating_mul(1024 * 1024)))
}

fn run_admin(data: &Path, database_url: Option<&str>, command: AdminCommand) -> Result<Value> {
    if let AdminCommand::Backup { to } = &command {
        if database_url.is_some() {
            return Err(ServerError::bad_request(
                ErrorCode::InvalidInput,
                "a PostgreSQL database is backed up with pg_dump or continuous archiving (docs/deploy.md)",
            ));
        }
        let (bytes, documents) = SqliteStorage::open(data)?.backup_to(to)?;
        return Ok(serde_json::json!({ "backup": to.display().to_string(), "bytes": bytes, "documents": documents }));
    }
    if let AdminCommand::Migrate { from_data } = &command {
        return admin::migrate(from_data, database_url);
    }
    let engine = open_engine(data, database_url, 64)?;
    let now = clock()?.now();
    match command {
        AdminCommand::Community { command: CommunityCommand::Create { name, timezone } } => {
            admin::create_community(&engine, &name, &timezone)
        }
        AdminCommand::Roster { command: RosterCommand::Import { community, file } } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| ServerError::bad_request(ErrorCode::IoError, format!("{}: {e}", file.display())))?;
            admin::import_roster(&engine, &community, &bytes, now)
        }
        AdminCommand::Config { command: ConfigCommand::Show { community } } => {
            serde_json::to_value(config::show(&engine, &community)?).map_err(ServerError::internal)
        }
        AdminCommand::Config { command: ConfigCommand::Set { community, file } } => {
            let document = config::parse(&read_bounded(&file, config::MAX_CONFIG_BYTES)?)?;
            serde_json::to_value(config::set(&engine, &community, &document)?).map_err(ServerError::internal)
        }
        AdminCommand::Enroll { community, user, role, grids, buildings } => {
            admin::enroll(&engine, &community, &user, &role, &grids, &buildings, now)
        }
        AdminCommand::Device { command: DeviceCommand::List } => admin::list_devices(&engine),
        AdminCommand::Device { command: DeviceCommand::Revoke { device_id } } => {
            admin::revoke_device(&engine, &device_id)
        }
        AdminCommand::Migrate { .. } | AdminCommand::Backup { .. } => {
            Err(ServerError::internal("migrate and backup run before the engine opens"))
        }
        AdminCommand::Staff { command } => {
            let storage = engine.storage();
            match command {
                StaffCommand::Add { community, user, role, password_stdin } => {
                    let password = read_password(password_stdin)?;
                    staff::add(storage, &community, &user, &role, &password, now.timestamp())
                }
                StaffCommand::Passwd { user, password_stdin } => {
                    staff::passwd(storage, &user, &read_password(password_stdin)?)
                }
                StaffCommand::Disable { user } => staff::disable(storage, &user),
                StaffCommand::List { community } => staff::list(storage, community.as_deref()),
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// How often the background task compacts documents, and from how many uncompacted changes.
const COMPACT_EVERY: Duration = Duration::from_secs(10);
const COMPACT_MIN_CHANGES: u64 = 64;

async fn serve(
    data: PathBuf,
    database_url: Option<String>,
    listen: SocketAddr,
    cache_mb: usize,
    limits: LimitFlags,
    transport_args: TransportArgs,
) -> Result<()> {
    let config = transport_args.config()?;
    let data_dir = data.clone();
    // Opened on a blocking thread: the PostgreSQL backend waits on its own runtime, which an async worker
    // of this one may not do.
    let engine = tokio::task::spawn_blocking(move || open_engine(&data_dir, database_url.as_deref(), cache_mb))
        .await
        .map_err(ServerError::internal)??
        .with_quotas(limits.quotas());
    let app = Arc::new(App::with_rate(engine, clock()?, limits.rate()).with_admission(limits.admission()));
    let compactor = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(COMPACT_EVERY);
        loop {
            tick.tick().await;
            match compactor.blocking_own(|app| app.engine().compact(COMPACT_MIN_CHANGES, 32)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(documents = n, "compacted"),
                Err(e) => tracing::warn!(error = %e, "compaction failed"),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let tls = config.tls.is_some();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let console = Console::new(app.clone(), &data.join("console"), tls || transport_args.behind_proxy)?;
    let console = Arc::new(console.stopping_with(stop_rx.clone()));
    // Another instance's write wakes the feed as this instance's own do: the console's replicas, its
    // dashboards and its pages' live updates follow phones syncing through any instance.
    let (signal, counter) = (app.engine.stored_signal(), Arc::downgrade(&app));
    let announced = app.engine.storage().watch_writes(Arc::new(move |_| {
        if let Some(app) = counter.upgrade() {
            Metrics::add(&app.metrics.writes_heard, 1);
        }
        signal.notify_one();
    }))?;
    console::replica::spawn_feed(console.clone(), announced)?;
    let base = format!("{}://{}", if tls { "https" } else { "http" }, listener.local_addr()?);
    if let Some(link) = console.blocking(move |c| announce_setup_link(c, &base)).await? {
        // On standard output, once: whoever started the server opens it to set the first admin's password.
        println!("First start: open this one-time link to create the administrator account (valid 24 h):\n{link}");
        tracing::info!("no console account yet: the first-admin setup link was printed on standard output");
    }
    tracing::info!(addr = %listener.local_addr()?, data = %data.display(), tls, "listening");
    if !tls && !listen.ip().is_loopback() {
        tracing::warn!(
            addr = %listen,
            "serving plain HTTP on a non-loopback address: device tokens and residents' data cross the network \
             unencrypted; use --tls-cert/--tls-key or a TLS reverse proxy in front of a loopback listener"
        );
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    if let Some(metrics) = transport_args.metrics_listener().await? {
        tracing::info!(addr = %metrics.local_addr()?, "metrics listening");
        let config = TransportConfig { max_connections: METRICS_MAX_CONNECTIONS, ..TransportConfig::default() };
        let router = api::ops::metrics_router(app.clone());
        tokio::spawn(transport::serve(metrics, router, config, stopped(stop_rx.clone())));
    }
    let router = console::router(console).merge(api::router(app));
    transport::serve(listener, router, config, stopped(stop_rx)).await?;
    Ok(())
}

/// Most glibc malloc arenas. Each thread that allocates at the same time as another gets an arena of its own,
/// and freed memory stays in the arena that held it: with sync rounds now applied in parallel, the default (8
/// per core) kept the server's resident memory far above what it used. Two arenas keep it near the mark.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: libc::c_int = 2;

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { data, database_url, listen, cache_mb, limits, transport } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            // Engine work runs on a bounded pool of blocking threads (api::BLOCKING_THREADS).
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(api::BLOCKING_THREADS.max(limits.max_in_flight.unwrap_or(0)))
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{}: {e}", gridline_core::ErrorCode::IoError);
                    std::process::exit(1);
                }
            };
            if let Err(e) = runtime.block_on(serve(data, database_url, listen, cache_mb, limits, transport)) {
                tracing::error!(code = e.code.code(), "{e}");
                std::process::exit(1);
            }
        }
        Command::Admin { data, database_url, json, command } => {
            match run_admin(&data, database_url.as_deref(), command) {
                Ok(value) => {
                    if json {
                        println!("{value}");
                    } else {
                        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
                    }
                }
                Err(e) => {
                    if json {
                        println!("{}", gridline_core::error::error_document(e.code, &e.message));
                    } else {
                        eprintln!("{}: {}", e.code, e.message);
                    }
                    std::process::exit(1);
                }
            }
        }
    }
}
