//! `gridline survey …` and `gridline department …`: the two-way evaluation (双评议) — a household's yearly
//! survey of the community (居民满意度测评) and the community's yearly rating of a department (部门评议), and
//! their reports. Which survey or rating stands and the averages are the core's (`evaluation`); this file
//! only parses and prints.

use std::fmt::Write;

use clap::{Args, Subcommand};
use gridline_core::evaluation::parse_scores;
use gridline_core::model::{NewSurvey, SurveySummary};
use gridline_core::{Error, Result};
use serde_json::{json, Value};

use crate::output::Output;
use crate::Ctx;

/// Survey commands.
#[derive(Subcommand)]
pub enum SurveyCommand {
    /// Record a household's yearly survey of the community: one answer 1–5 per configured item.
    Record(RecordArgs),
    /// A year's survey: households surveyed, average, per item (and per grid).
    Report(SurveyReportArgs),
}

/// Department commands.
#[derive(Subcommand)]
pub enum DepartmentCommand {
    /// Record the community's rating of a department for a year (committee and station): one score 1–5 per
    /// configured aspect. A later rating of the department replaces the earlier one.
    Rate(RateArgs),
    /// A year's department ratings: the standing rating of each department.
    Report(YearArgs),
}

/// `survey record` arguments.
#[derive(Args)]
pub struct RecordArgs {
    /// The household surveyed.
    #[arg(long)]
    household: String,
    /// The answers, one per survey item in the configuration's order: `a1,a2,…`, each 1–5.
    #[arg(long)]
    answers: String,
    /// The visit the survey is recorded on.
    #[arg(long)]
    visit: Option<String>,
}

/// `survey report` arguments.
#[derive(Args)]
pub struct SurveyReportArgs {
    /// The year (YYYY; default: this year).
    #[arg(long)]
    year: Option<u32>,
    /// One grid (default: every grid in scope).
    #[arg(long)]
    grid: Option<String>,
}

/// `department rate` arguments.
#[derive(Args)]
pub struct RateArgs {
    /// The department's name.
    #[arg(long)]
    department: String,
    /// The year rated (YYYY).
    #[arg(long)]
    year: u32,
    /// The scores, one per aspect in the configuration's order: `s1,s2,…`, each 1–5.
    #[arg(long)]
    scores: String,
}

/// A year.
#[derive(Args)]
pub struct YearArgs {
    /// The year (YYYY; default: this year).
    #[arg(long)]
    year: Option<u32>,
}

/// Runs a survey command.
pub fn survey(ctx: &Ctx, cmd: SurveyCommand) -> Result<Output> {
    match cmd {
        SurveyCommand::Record(args) => record(ctx, args),
        SurveyCommand::Report(args) => survey_report(ctx, args),
    }
}

/// Runs a department command.
pub fn department(ctx: &Ctx, cmd: DepartmentCommand) -> Result<Output> {
    match cmd {
        DepartmentCommand::Rate(args) => rate(ctx, args),
        DepartmentCommand::Report(args) => department_report(ctx, args),
    }
}

fn scores(field: &str, text: &str) -> Result<Vec<u8>> {
    parse_scores(text).ok_or_else(|| Error::invalid(field, "numbers from 1 to 5, separated by commas"))
}

fn this_year(store: &gridline_core::Store) -> u32 {
    use chrono::Datelike;
    u32::try_from(store.today().year()).unwrap_or_default()
}

fn record(ctx: &Ctx, args: RecordArgs) -> Result<Output> {
    let mut store = ctx.open()?;
    let input =
        NewSurvey { household_code: args.household, answers: scores("answers", &args.answers)?, visit_id: args.visit };
    let s = store.survey_record(input)?;
    let human = format!("survey {} of household {} for {} recorded", s.survey_id, s.household_code, s.year);
    Ok(Output::new(json!({"survey_id": s.survey_id, "year": s.year, "household_code": s.household_code}), human))
}

/// The items of a summary as `survey report` prints them: code, Chinese name (`name`), English name, average.
fn items_json(s: &SurveySummary) -> Value {
    s.items
        .iter()
        .map(|i| json!({"item": i.item, "name": i.name_zh, "name_en": i.name_en, "answers": i.answers, "average": i.average}))
        .collect()
}

fn summary_json(s: &SurveySummary) -> Value {
    json!({
        "grid": s.grid,
        "households_surveyed": s.households_surveyed,
        "duplicates": s.duplicates,
        "average": s.average,
        "items": items_json(s),
    })
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.2}"))
}

fn survey_report(ctx: &Ctx, args: SurveyReportArgs) -> Result<Output> {
    let store = ctx.open()?;
    let year = args.year.unwrap_or_else(|| this_year(&store));
    let r = store.survey_report(year, args.grid.as_deref())?;
    let t = &r.total;
    let mut human = format!(
        "居民满意度测评 {year}{}: {} households surveyed, average {}{}\n",
        args.grid.as_deref().map(|g| format!(" grid {g}")).unwrap_or_default(),
        t.households_surveyed,
        figure(t.average),
        if t.duplicates > 0 { format!(" ({} duplicate surveys left out)", t.duplicates) } else { String::new() },
    );
    for i in &t.items {
        let _ = writeln!(human, "  {:<14} {:<8} {:>5}  ({} answers)", i.item, i.name_zh, figure(i.average), i.answers);
    }
    for g in &r.grids {
        let _ = writeln!(
            human,
            "  grid {}: {} households, average {}",
            g.grid.as_deref().unwrap_or_default(),
            g.households_surveyed,
            figure(g.average)
        );
    }
    let doc = json!({
        "year": r.year,
        "grid": t.grid,
        "households_surveyed": t.households_surveyed,
        "duplicates": t.duplicates,
        "average": t.average,
        "items": items_json(t),
        "grids": r.grids.iter().map(summary_json).collect::<Vec<_>>(),
    });
    Ok(Output::new(doc, human))
}

fn rate(ctx: &Ctx, args: RateArgs) -> Result<Output> {
    let mut store = ctx.open()?;
    let d = store.department_rate(&args.department, args.year, &scores("scores", &args.scores)?)?;
    let human = format!("{} rated for {}: average {}", d.department, args.year, figure(d.average));
    let doc = json!({"department": d.department, "year": args.year, "average": d.average, "rating_id": d.rating_id});
    Ok(Output::new(doc, human))
}

fn department_report(ctx: &Ctx, args: YearArgs) -> Result<Output> {
    let store = ctx.open()?;
    let year = args.year.unwrap_or_else(|| this_year(&store));
    let r = store.department_report(year)?;
    let mut human = format!("部门评议 {year}: {} departments\n", r.departments.len());
    for d in &r.departments {
        let scores: Vec<String> = d.aspects.iter().map(|a| a.score.map_or("—".into(), |s| s.to_string())).collect();
        let _ = writeln!(human, "  {:<16} {:>5}  [{}]", d.department, figure(d.average), scores.join(" "));
    }
    let departments: Vec<Value> = r
        .departments
        .iter()
        .map(|d| {
            json!({
                "department": d.department,
                "average": d.average,
                "rating_id": d.rating_id,
                "replaced": d.replaced,
                "rated_by": d.actor,
                "at": d.at.to_rfc3339(),
                "aspects": d.aspects.iter()
                    .map(|a| json!({"aspect": a.aspect, "name": a.name_zh, "name_en": a.name_en, "score": a.score}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Output::new(json!({"year": r.year, "departments": departments}), human))
}
