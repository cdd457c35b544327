//! `gridline`: the headless field client and admin tool, on the same core as the phones.
//!
//! Every command prints one JSON document on stdout with `--json`; on failure the exit code is 1 and the
//! document is `{"error": {"code", "message"}}` (without `--json`: `code: message` on stderr).

mod evaluation;
mod field;
mod incident;
mod ledger;
mod needs;
mod output;
mod points;
mod project;
mod roster;
mod service;
mod sync;
mod visits;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use gridline_core::{Clock, Error, FixedClock, Result, Store, SystemClock};

use output::Output;

/// Gridline field client: rounds, check-ins, incidents, visits, service orders, points and sync from the
/// command line.
#[derive(Parser)]
#[command(name = "gridline", version)]
struct Cli {
    /// Directory of the device store.
    #[arg(long, global = true, default_value = "gridline-store")]
    store: PathBuf,
    /// File holding the 32-byte store key (default: STORE/store.key, created by init).
    #[arg(long, global = true)]
    key_file: Option<PathBuf>,
    /// Print one JSON document instead of human text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a standalone device store.
    Init(field::InitArgs),
    /// Roster ledger commands.
    #[command(subcommand)]
    Roster(roster::RosterCommand),
    /// Today's rounds: households due, in walking order.
    Rounds(field::RoundsArgs),
    /// Record a check-in at a household.
    Checkin(field::CheckinArgs),
    /// Household commands.
    #[command(subcommand)]
    Household(field::HouseholdCommand),
    /// Enroll this device with a server using a one-time code (creates the store).
    Enroll(sync::EnrollArgs),
    /// Sync with the server: send local work, receive what changed in scope, upload photos.
    Sync(sync::SyncArgs),
    /// Offline hand-off between phones by file.
    #[command(subcommand)]
    Bundle(sync::BundleCommand),
    /// Record a visit.
    #[command(subcommand)]
    Visit(visits::VisitCommand),
    /// Visits due for special-care residents.
    #[command(subcommand)]
    Visits(visits::VisitsCommand),
    /// The monthly electronic ledger (电子台账): csv, xlsx or the json summary.
    Ledger(ledger::LedgerArgs),
    /// Monthly assessment reports.
    #[command(subcommand)]
    Report(ledger::ReportCommand),
    /// Incidents: report, list, show, act on the workflow.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Service orders: request, dispatch, accept, decline, done, evaluate, cancel, list, show.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Volunteers' points: balance, history, redeem at the love supermarket, honour roll.
    #[command(subcommand)]
    Points(points::PointsCommand),
    /// The needs list (问题清单): needs found on visits and service requests, per building and month.
    #[command(subcommand)]
    Needs(needs::NeedsCommand),
    /// Service projects (项目化): create, update status, list, show, residents' ratings (民事民评).
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Residents' yearly survey of the community (双评议): record, report.
    #[command(subcommand)]
    Survey(evaluation::SurveyCommand),
    /// The community's yearly rating of departments (双评议): rate, report.
    #[command(subcommand)]
    Department(evaluation::DepartmentCommand),
}

/// What every command gets: where the store is and how to open it.
pub struct Ctx {
    /// Store directory.
    pub store: PathBuf,
    /// Key file path.
    pub key_file: PathBuf,
    /// The clock (system, or `GRIDLINE_NOW` for scripted runs).
    pub clock: Arc<dyn Clock>,
}

impl Ctx {
    /// Opens the store with its key.
    pub fn open(&self) -> Result<Store> {
        if !self.store.join(gridline_core::store::STORE_FILE).exists() {
            return Err(Error::StoreNotInitialised(self.store.display().to_string()));
        }
        let key = gridline_core::store::read_key_file(&self.key_file)?;
        Store::open(&self.store, &key, self.clock.clone())
    }

    /// Before a new store is made here (`init`, `enroll`): refuses an existing one, creates the directory,
    /// and returns the key from the key file, creating the file when there is none.
    pub fn prepare_new_store(&self) -> Result<[u8; 32]> {
        if self.store.join(gridline_core::store::STORE_FILE).exists() {
            return Err(Error::StoreExists(self.store.display().to_string()));
        }
        std::fs::create_dir_all(&self.store)?;
        if self.key_file.exists() {
            gridline_core::store::read_key_file(&self.key_file)
        } else {
            gridline_core::store::create_key_file(&self.key_file)
        }
    }
}

fn clock() -> Result<Arc<dyn Clock>> {
    match std::env::var("GRIDLINE_NOW") {
        Ok(text) => {
            let at = chrono::DateTime::parse_from_rfc3339(&text)
                .map_err(|e| Error::invalid("GRIDLINE_NOW", e.to_string()))?;
            Ok(Arc::new(FixedClock(at.with_timezone(&chrono::Utc))))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

fn run(cli: Cli) -> Result<Output> {
    let ctx = Ctx {
        key_file: cli.key_file.clone().unwrap_or_else(|| cli.store.join("store.key")),
        store: cli.store.clone(),
        clock: clock()?,
    };
    match cli.command {
        Command::Init(args) => field::init(&ctx, args),
        Command::Roster(cmd) => roster::run(&ctx, cmd),
        Command::Rounds(args) => field::rounds(&ctx, args),
        Command::Checkin(args) => field::checkin(&ctx, args),
        Command::Household(cmd) => field::household(&ctx, cmd),
        Command::Enroll(args) => sync::enroll(&ctx, args),
        Command::Sync(args) => sync::sync(&ctx, args, cli.json),
        Command::Bundle(cmd) => sync::bundle(&ctx, cmd),
        Command::Visit(cmd) => visits::visit(&ctx, cmd),
        Command::Visits(cmd) => visits::visits(&ctx, cmd),
        Command::Ledger(args) => ledger::ledger(&ctx, args),
        Command::Report(cmd) => ledger::report(&ctx, cmd),
        Command::Incident(cmd) => incident::run(&ctx, cmd),
        Command::Service(cmd) => service::run(&ctx, cmd),
        Command::Points(cmd) => points::run(&ctx, cmd),
        Command::Needs(cmd) => needs::run(&ctx, cmd),
        Command::Project(cmd) => project::run(&ctx, cmd),
        Command::Survey(cmd) => evaluation::survey(&ctx, cmd),
        Command::Department(cmd) => evaluation::department(&ctx, cmd),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let json = std::env::args().any(|a| a == "--json");
            if json && !matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion)
            {
                output::print_error(
                    true,
                    gridline_core::ErrorCode::Usage,
                    &e.to_string().lines().next().unwrap_or_default().replace("error: ", ""),
                );
                return ExitCode::from(2);
            }
            e.exit();
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(out) => {
            out.print(json);
            ExitCode::SUCCESS
        }
        Err(e) => {
            output::print_error(json, e.code(), &e.to_string());
            ExitCode::FAILURE
        }
    }
}
