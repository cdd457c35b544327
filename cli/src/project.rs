//! `gridline project …`: service projects (项目化) — create one for needs of the needs list, move it planned →
//! active → done, record residents' ratings once done (民事民评), list and show them. The rules are the core's
//! (`project.rs`); this file only parses and prints.

use std::fmt::Write;

use clap::{Args, Subcommand};
use gridline_core::model::{NewProject, NewProjectRating};
use gridline_core::project::ProjectStatus;
use gridline_core::store::{ProjectDetail, ProjectFilter};
use gridline_core::Result;
use serde_json::json;

use crate::field::parse_date;
use crate::output::Output;
use crate::Ctx;

/// Service-project commands.
#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a service project (committee and station).
    Create(CreateArgs),
    /// Move a project to another status: planned, active or done (committee and station).
    Update(UpdateArgs),
    /// Projects, newest first, with counts per status.
    List(ListArgs),
    /// One project: its fields, status history and residents' ratings with their average.
    Show {
        /// Project id.
        project_id: String,
    },
    /// Record a household's rating of a done project, 1–5 (民事民评; a later rating replaces an earlier one).
    Evaluate(EvaluateArgs),
}

/// `project create` arguments.
#[derive(Args)]
pub struct CreateArgs {
    /// Title.
    #[arg(long)]
    title: String,
    /// Category.
    #[arg(long)]
    category: String,
    /// The social organisation running it.
    #[arg(long)]
    organisation: String,
    /// Budget in whole yuan.
    #[arg(long)]
    budget: Option<u64>,
    /// Need codes it answers, comma-separated (visit services or the service catalogue).
    #[arg(long, value_delimiter = ',')]
    needs: Vec<String>,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
}

/// `project update` arguments.
#[derive(Args)]
pub struct UpdateArgs {
    /// Project id.
    project_id: String,
    /// The new status: planned, active or done.
    #[arg(long)]
    status: String,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
}

/// `project list` arguments.
#[derive(Args)]
pub struct ListArgs {
    /// Only this status.
    #[arg(long)]
    status: Option<String>,
}

/// `project evaluate` arguments.
#[derive(Args)]
pub struct EvaluateArgs {
    /// Project id.
    project_id: String,
    /// The household rating.
    #[arg(long)]
    household: String,
    /// The rating, 1 to 5.
    #[arg(long)]
    rating: u8,
    /// The resident's words.
    #[arg(long, default_value = "")]
    note: String,
}

/// Runs a project command.
pub fn run(ctx: &Ctx, cmd: ProjectCommand) -> Result<Output> {
    match cmd {
        ProjectCommand::Create(args) => create(ctx, args),
        ProjectCommand::Update(args) => {
            let status = args.status.parse::<ProjectStatus>()?;
            Ok(show_output(ctx.open()?.project_update(&args.project_id, status, &args.note)?))
        }
        ProjectCommand::List(args) => list(ctx, args),
        ProjectCommand::Show { project_id } => Ok(show_output(ctx.open()?.project_detail(&project_id)?)),
        ProjectCommand::Evaluate(args) => {
            let rating = NewProjectRating { household_code: args.household, rating: args.rating, note: args.note };
            Ok(show_output(ctx.open()?.project_evaluate(&args.project_id, rating)?))
        }
    }
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<Output> {
    let from = args.from.as_deref().map(|d| parse_date("from", d)).transpose()?;
    let to = args.to.as_deref().map(|d| parse_date("to", d)).transpose()?;
    let f = ctx.open()?.project_create(NewProject {
        title: args.title,
        category: args.category,
        organisation: args.organisation,
        budget_yuan: args.budget,
        needs: args.needs,
        from,
        to,
    })?;
    let human = format!("project {} created: {} ({}), planned", f.project_id, f.title, f.organisation);
    Ok(Output::new(json!({"project_id": f.project_id, "status": ProjectStatus::Planned, "needs": f.needs}), human))
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<Output> {
    let filter = ProjectFilter { status: args.status.as_deref().map(str::parse::<ProjectStatus>).transpose()? };
    let list = ctx.open()?.project_list(&filter)?;
    let mut human = String::new();
    for p in &list.items {
        let average = p.rating_average.map_or("-".to_string(), |a| format!("{a:.2}"));
        let _ = writeln!(
            human,
            "{}  {:<8} {}  ({}; {} ratings, average {average})",
            p.project_id,
            p.status.code(),
            p.title,
            p.organisation,
            p.rating_count
        );
    }
    let counts: Vec<String> = list.counts.iter().filter(|(_, n)| **n > 0).map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(human, "{} projects ({})", list.items.len(), counts.join(", "));
    Ok(Output::new(list, human))
}

/// `project show` and the actions' output: the detail, with `budget` beside `budget_yuan` (PRODUCT.md §9).
fn show_output(d: ProjectDetail) -> Output {
    let mut human = format!("{} {} — {}\n", d.project_id, d.title, d.status.code());
    let _ = writeln!(human, "{} · {}", d.category, d.organisation);
    if let Some(b) = d.budget_yuan {
        let _ = writeln!(human, "budget {b} yuan");
    }
    if d.from.is_some() || d.to.is_some() {
        let day = |d: Option<chrono::NaiveDate>| d.map_or("…".to_string(), |d| d.to_string());
        let _ = writeln!(human, "period {} to {}", day(d.from), day(d.to));
    }
    if !d.needs.is_empty() {
        let _ = writeln!(human, "needs: {}", d.needs.join(", "));
    }
    for e in &d.events {
        let mark = e.superseded_reason.map(|r| format!("  (superseded: {})", r.code())).unwrap_or_default();
        let line = format!("  {} {:<8} {} ({}) {}{mark}", e.at, e.status, e.actor, e.role, e.note);
        let _ = writeln!(human, "{}", line.trim_end());
    }
    let average = d.ratings.average.map_or("-".to_string(), |a| format!("{a:.2}"));
    let _ = writeln!(human, "ratings: {} households, average {average}", d.ratings.count);
    for r in &d.ratings.items {
        let line =
            format!("  {} {} {}/5 by {} [{}] {}", r.at, r.household_code, r.rating, r.actor, r.state.code(), r.note);
        let _ = writeln!(human, "{}", line.trim_end());
    }
    if !d.allowed_statuses.is_empty() {
        let next: Vec<&str> = d.allowed_statuses.iter().map(|s| s.code()).collect();
        let _ = writeln!(human, "you may move it to: {}", next.join(", "));
    }
    let budget = d.budget_yuan;
    let mut out = Output::new(d, human);
    if let Some(map) = out.json.as_object_mut() {
        map.insert("budget".into(), json!(budget));
    }
    out
}
