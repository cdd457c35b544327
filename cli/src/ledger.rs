//! The station's monthly commands: `ledger` (电子台账) and `report worker` (monthly assessment).

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use gridline_core::ledger::export::{self, Lang};
use gridline_core::schedule::Month;
use gridline_core::{Error, Result};
use serde_json::json;

use crate::output::Output;
use crate::visits::check_out_path;
use crate::Ctx;

/// `ledger` arguments.
#[derive(Args)]
pub struct LedgerArgs {
    /// The month (YYYY-MM).
    #[arg(long)]
    month: String,
    /// One grid (default: every grid in the device's scope).
    #[arg(long)]
    grid: Option<String>,
    /// csv, xlsx or json (json: the summary on stdout).
    #[arg(long, default_value = "xlsx")]
    format: String,
    /// Header language: zh or en.
    #[arg(long, default_value = "zh")]
    lang: String,
    /// Output file (default: ledger-YYYY-MM[-GRID].csv|xlsx in the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Builds the ledger and writes it (csv, xlsx) or prints its summary (json).
pub fn ledger(ctx: &Ctx, args: LedgerArgs) -> Result<Output> {
    let month = Month::parse(&args.month)?;
    let lang = args.lang.parse::<Lang>()?;
    let format = args.format.as_str();
    if !matches!(format, "csv" | "xlsx" | "json") {
        return Err(Error::invalid("format", format!("unknown format {format:?} (csv, xlsx, json)")));
    }
    if let Some(out) = &args.out {
        check_out_path(out)?;
    }
    let store = ctx.open()?;
    let ledger = store.ledger(&month, args.grid.as_deref())?;
    let s = &ledger.summary;
    let human_summary = format!(
        "ledger {} {}: {} of {} households contacted ({:.1}%), {} check-ins, {} visits, {} incidents, {} service \
         orders; points credited {}, redeemed {}",
        s.month,
        s.grid.as_deref().unwrap_or("(all grids)"),
        s.households_contacted,
        s.households,
        s.checkin_rate * 100.0,
        s.check_ins,
        s.visits,
        s.incidents.reported,
        s.orders.values().sum::<u32>(),
        s.points_credited,
        s.points_redeemed
    );
    if format == "json" {
        return Ok(Output::new(s, human_summary));
    }
    let sheets = ledger.sheets(lang);
    let bytes = if format == "csv" { export::write_csv(&sheets)? } else { export::write_xlsx(&sheets)? };
    let path = args.out.unwrap_or_else(|| {
        let grid = args.grid.as_deref().map(|g| format!("-{g}")).unwrap_or_default();
        PathBuf::from(format!("ledger-{}{grid}.{format}", month.code()))
    });
    std::fs::write(&path, &bytes).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let sheets: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
    let human = format!("{human_summary}\nwrote {} ({} bytes)", path.display(), bytes.len());
    Ok(Output::new(
        json!({"path": path, "format": format, "bytes": bytes.len(), "sheets": sheets, "summary": s}),
        human,
    ))
}

/// `report` commands.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// A social worker's monthly assessment figures.
    Worker {
        /// The month (YYYY-MM).
        #[arg(long)]
        month: String,
        /// The social worker (default: this device's user).
        #[arg(long)]
        user: Option<String>,
        /// One grid (default: every grid in the device's scope).
        #[arg(long)]
        grid: Option<String>,
    },
}

/// Runs a `report` command.
pub fn report(ctx: &Ctx, cmd: ReportCommand) -> Result<Output> {
    let ReportCommand::Worker { month, user, grid } = cmd;
    let month = Month::parse(&month)?;
    let store = ctx.open()?;
    let r = store.worker_report(&month, user.as_deref(), grid.as_deref())?;
    let mut human = format!("{} {}: {} visits", r.user, r.month, r.visits);
    for (k, n) in &r.visits_by_kind {
        let _ = write!(human, ", {k} {n}");
    }
    let _ = write!(
        human,
        "\nspecial-care contacts {} of {} ({:.1}%), {} of {} residents overdue, average satisfaction {}",
        r.special_care.done,
        r.special_care.required,
        r.special_care.rate * 100.0,
        r.residents_overdue,
        r.special_care_residents,
        r.average_satisfaction.map_or("-".to_string(), |a| format!("{a:.2}"))
    );
    Ok(Output::new(r, human))
}
