//! The visit commands: `visit record`, `visits due`.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use gridline_core::model::{NewVisit, VisitKind};
use gridline_core::{Error, Result};
use serde_json::json;

use crate::field::{add_photos, parse_date, parse_time};
use crate::output::Output;
use crate::Ctx;

/// `visit` commands.
#[derive(Subcommand)]
pub enum VisitCommand {
    /// Record a home visit, door visit, phone call or accompaniment.
    Record(RecordArgs),
}

/// `visit record` arguments.
#[derive(Args)]
pub struct RecordArgs {
    /// Household code.
    #[arg(long)]
    household: String,
    /// Resident visited (repeatable; none: the whole household).
    #[arg(long = "resident")]
    residents: Vec<String>,
    /// home, door, phone or accompany.
    #[arg(long)]
    kind: String,
    /// Services delivered: codes of the community's catalogue, comma-separated.
    #[arg(long, value_delimiter = ',')]
    services: Vec<String>,
    /// Needs found (free text).
    #[arg(long, default_value = "")]
    needs: String,
    /// Needs found as service codes, comma-separated.
    #[arg(long = "need-tags", value_delimiter = ',')]
    need_tags: Vec<String>,
    /// Resident satisfaction, 1–5.
    #[arg(long)]
    satisfaction: Option<u8>,
    /// Follow-up date (YYYY-MM-DD).
    #[arg(long = "follow-up")]
    follow_up: Option<String>,
    /// Duration in minutes.
    #[arg(long = "duration-min")]
    duration_min: Option<u32>,
    /// When it started (RFC 3339), to back-fill a paper record.
    #[arg(long)]
    at: Option<String>,
    /// Photo file (repeatable).
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
}

/// Runs a `visit` command.
pub fn visit(ctx: &Ctx, cmd: VisitCommand) -> Result<Output> {
    let VisitCommand::Record(args) = cmd;
    let kind = args.kind.parse::<VisitKind>()?;
    let at = args.at.as_deref().map(|t| parse_time("at", t)).transpose()?;
    let follow_up = args.follow_up.as_deref().map(|d| parse_date("follow_up", d)).transpose()?;
    let mut store = ctx.open()?;
    let photos = add_photos(&mut store, &args.photos)?;
    let v = store.record_visit(NewVisit {
        household_code: args.household,
        residents: args.residents,
        kind,
        at,
        duration_min: args.duration_min,
        services: args.services.into_iter().filter(|s| !s.is_empty()).collect(),
        needs: args.needs,
        need_tags: args.need_tags.into_iter().filter(|s| !s.is_empty()).collect(),
        follow_up,
        satisfaction: args.satisfaction,
        photos,
    })?;
    let human = format!("visit {} recorded", v.visit_id);
    Ok(Output::new(json!({"visit_id": v.visit_id, "at": v.at.to_rfc3339(), "day": v.day}), human))
}

/// `visits` commands.
#[derive(Subcommand)]
pub enum VisitsCommand {
    /// Visits due: phone, door and home contacts per special-care resident, and follow-ups.
    Due {
        /// The day (YYYY-MM-DD); default today.
        #[arg(long)]
        date: Option<String>,
        /// Only this grid (must be in the device's scope).
        #[arg(long)]
        grid: Option<String>,
    },
}

/// Runs a `visits` command.
pub fn visits(ctx: &Ctx, cmd: VisitsCommand) -> Result<Output> {
    let VisitsCommand::Due { date, grid } = cmd;
    let date = date.as_deref().map(|d| parse_date("date", d)).transpose()?;
    let store = ctx.open()?;
    let due = store.visits_due_in(grid.as_deref(), date)?;
    let mut human = format!("visits due on {}: {}\n", due.date, due.items.len());
    for i in &due.items {
        let _ = writeln!(
            human,
            "{:<10} {:<8} {:<5} {} {} ({}d overdue){}",
            i.household_code,
            i.resident.as_deref().unwrap_or("(household)"),
            i.contact.code(),
            i.tag.as_deref().unwrap_or("-"),
            i.due_date,
            i.overdue_days,
            if i.follow_up { " follow-up" } else { "" }
        );
    }
    Ok(Output::new(due, human))
}

/// Checks an output path's parent exists, for a clear error before the ledger is computed.
pub fn check_out_path(path: &std::path::Path) -> Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => {
            Err(Error::Io(format!("{}: no such directory", p.display())))
        }
        _ => Ok(()),
    }
}
