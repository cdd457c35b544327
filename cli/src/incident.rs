//! `gridline incident …`: report incidents, list and show them, and act on the workflow.

use std::fmt::Write;
use std::path::PathBuf;

use chrono::SecondsFormat;
use clap::{Args, Subcommand};
use gridline_core::model::{NewIncident, Severity};
use gridline_core::store::{IncidentAct, IncidentDetail, IncidentFilter};
use gridline_core::workflow::{Action, Stage};
use gridline_core::{Error, Result};
use serde_json::json;

use crate::field::{add_photos, parse_time};
use crate::output::Output;
use crate::Ctx;

/// Incident commands.
#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Report an incident (on the spot, or from a check-in with outcome problem).
    Report(ReportArgs),
    /// Incidents in scope, with counts per stage.
    List(ListArgs),
    /// One incident: fields, stage, full history, deadline.
    Show {
        /// Incident id.
        id: String,
    },
    /// Take a workflow action as this device's user and role.
    Act(ActArgs),
}

/// `incident report` arguments.
#[derive(Args)]
pub struct ReportArgs {
    /// Household concerned.
    #[arg(long)]
    household: Option<String>,
    /// Grid (when there is no household and the device has several grids).
    #[arg(long)]
    grid: Option<String>,
    /// Category code from the community's catalogue (safety_hazard, neighbour_dispute, environment, …).
    #[arg(long)]
    category: String,
    /// normal or urgent.
    #[arg(long, default_value = "normal")]
    severity: String,
    /// Title (prefilled from the check-in's note with --from-checkin).
    #[arg(long, default_value = "")]
    title: String,
    /// Description.
    #[arg(long, default_value = "")]
    description: String,
    /// Photo file (repeatable).
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
    /// When it happened (RFC 3339).
    #[arg(long)]
    at: Option<String>,
    /// Start from this check-in (outcome problem): household, note and photos prefill the report.
    #[arg(long = "from-checkin")]
    from_checkin: Option<String>,
    /// Latitude.
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude.
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
}

/// `incident list` arguments.
#[derive(Args)]
pub struct ListArgs {
    /// Only this stage (reported, committee_review, at_station, in_progress, resolved, closed, returned,
    /// escalated, rejected).
    #[arg(long)]
    stage: Option<String>,
    /// Only this severity.
    #[arg(long)]
    severity: Option<String>,
    /// Only this grid.
    #[arg(long)]
    grid: Option<String>,
    /// Only incidents past their stage's deadline.
    #[arg(long)]
    overdue: bool,
    /// Only incidents waiting for this device's role.
    #[arg(long)]
    waiting_for_me: bool,
}

/// `incident act` arguments.
#[derive(Args)]
pub struct ActArgs {
    /// Incident id.
    id: String,
    /// dispatch, settle, return, resubmit, verify, escalate, resolve, evaluate, reject or comment.
    action: String,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
    /// Who handles it (verify).
    #[arg(long)]
    assignee: Option<String>,
    /// The incident this one duplicates (reject).
    #[arg(long)]
    duplicate_of: Option<String>,
    /// The resident's evaluation: yes or no (evaluate).
    #[arg(long)]
    satisfied: Option<String>,
    /// Photo file (repeatable).
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
}

/// Runs an incident command.
pub fn run(ctx: &Ctx, cmd: IncidentCommand) -> Result<Output> {
    match cmd {
        IncidentCommand::Report(args) => report(ctx, args),
        IncidentCommand::List(args) => list(ctx, args),
        IncidentCommand::Show { id } => Ok(show_output(ctx.open()?.incident_detail(&id)?)),
        IncidentCommand::Act(args) => act(ctx, args),
    }
}

fn report(ctx: &Ctx, args: ReportArgs) -> Result<Output> {
    let severity = args.severity.parse::<Severity>()?;
    let at = args.at.as_deref().map(|t| parse_time("at", t)).transpose()?;
    let mut store = ctx.open()?;
    let photos = add_photos(&mut store, &args.photos)?;
    let location = crate::field::location(args.lat, args.lon);
    let f = store.report_incident(NewIncident {
        household_code: args.household,
        grid: args.grid,
        category: args.category,
        severity: Some(severity),
        title: args.title,
        description: args.description,
        photos,
        location,
        at,
        check_in_id: args.from_checkin,
    })?;
    let stage = store.incident_detail(&f.incident_id)?.stage;
    let human = format!("incident {} reported ({})", f.incident_id, stage.code());
    Ok(Output::new(json!({"incident_id": f.incident_id, "grid": f.grid, "stage": stage}), human))
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<Output> {
    let filter = IncidentFilter {
        stage: args.stage.as_deref().map(str::parse::<Stage>).transpose()?,
        severity: args.severity.as_deref().map(str::parse::<Severity>).transpose()?,
        grid: args.grid,
        overdue: args.overdue,
        waiting_for_me: args.waiting_for_me,
    };
    let list = ctx.open()?.incident_list(&filter)?;
    let mut human = String::new();
    for i in &list.items {
        let late = if i.overdue { format!("  OVERDUE {} min", i.overdue_minutes) } else { String::new() };
        let _ = writeln!(
            human,
            "{}  {:<16} {:<6} {:<18} {}{late}",
            i.incident_id,
            i.stage.code(),
            i.severity.code(),
            i.category,
            i.title
        );
    }
    let counts: Vec<String> = list.counts.iter().filter(|(_, n)| **n > 0).map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(human, "{} incidents ({})", list.items.len(), counts.join(", "));
    Ok(Output::new(list, human))
}

fn parse_yes_no(s: &str) -> Result<bool> {
    match s {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(Error::invalid("satisfied", format!("{s:?}: say yes or no"))),
    }
}

fn act(ctx: &Ctx, args: ActArgs) -> Result<Output> {
    let action = args.action.parse::<Action>().map_err(|_| {
        Error::invalid(
            "action",
            format!(
                "unknown action {:?} (dispatch settle return resubmit verify escalate resolve evaluate reject comment)",
                args.action
            ),
        )
    })?;
    let satisfied = args.satisfied.as_deref().map(parse_yes_no).transpose()?;
    let mut store = ctx.open()?;
    let photos = add_photos(&mut store, &args.photos)?;
    let act = IncidentAct {
        action,
        note: args.note,
        assignee: args.assignee,
        duplicate_of: args.duplicate_of,
        satisfied,
        photos,
    };
    Ok(show_output(store.incident_act(&args.id, act)?))
}

fn show_output(d: IncidentDetail) -> Output {
    let mut human =
        format!("{} [{}] {} — {} ({})\n", d.incident_id, d.severity.code(), d.title, d.stage.code(), d.category);
    if let Some(deadline) = &d.deadline {
        let late = if d.overdue { format!(", overdue {} min", d.overdue_minutes) } else { String::new() };
        let _ = writeln!(human, "deadline {}{late}", deadline.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    for e in &d.events {
        let mark = match &e.superseded_reason {
            Some(r) => format!("  (superseded: {})", r.code()),
            None => String::new(),
        };
        let _ = writeln!(human, "  {} {:<9} {} ({}) {}{mark}", e.at, e.action, e.actor, e.role, e.note);
    }
    if !d.allowed_actions.is_empty() {
        let _ =
            writeln!(human, "you may: {}", d.allowed_actions.iter().map(|a| a.code()).collect::<Vec<_>>().join(", "));
    }
    Output::new(d, human)
}
