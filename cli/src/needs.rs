//! `gridline needs list`: the community's needs list (问题清单) — every need tag found on a visit and every
//! service request, counted per need with households, first and last seen, the project that answers it and
//! the counts per building. What counts is the core's (`needs.rs`); this file only parses and prints.

use std::fmt::Write;

use clap::{Args, Subcommand};
use gridline_core::store::NeedsFilter;
use gridline_core::Result;

use crate::output::Output;
use crate::Ctx;

/// Needs-list commands.
#[derive(Subcommand)]
pub enum NeedsCommand {
    /// The needs list, most households first.
    List(ListArgs),
}

/// `needs list` arguments.
#[derive(Args)]
pub struct ListArgs {
    /// Only this grid.
    #[arg(long)]
    grid: Option<String>,
    /// Only this month (YYYY-MM).
    #[arg(long)]
    month: Option<String>,
}

/// Runs a needs command.
pub fn run(ctx: &Ctx, cmd: NeedsCommand) -> Result<Output> {
    let NeedsCommand::List(args) = cmd;
    let list = ctx.open()?.needs_list(&NeedsFilter { grid: args.grid, month: args.month })?;
    let mut human = String::new();
    for n in &list.items {
        let project = n.project_id.as_deref().map(|p| format!("  project {p}")).unwrap_or_default();
        let _ = writeln!(
            human,
            "{:<20} {:<8} {} households, {} visits, {} requests, {} to {}{project}",
            n.need, n.name_zh, n.households, n.visits, n.requests, n.first_seen, n.last_seen
        );
        for b in &n.by_building {
            let building = if b.building.is_empty() { "?" } else { b.building.as_str() };
            let _ = writeln!(
                human,
                "    {} building {building}: {} households, {} requests",
                b.grid, b.households, b.requests
            );
        }
    }
    let _ = writeln!(human, "{} needs", list.items.len());
    Ok(Output::new(list, human))
}
