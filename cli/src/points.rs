//! `gridline points …`: volunteers' points (积分) — balances, histories, redemptions at the love supermarket
//! (爱心超市) and the month's honour roll (荣誉墙). Balances and decisions are the core's (`points`); a
//! redemption recorded here stays `pending` until the server's decision syncs back.

use std::fmt::Write;

use clap::{Args, Subcommand};
use gridline_core::schedule::Month;
use gridline_core::Result;
use serde_json::json;

use crate::output::Output;
use crate::Ctx;

/// Points commands.
#[derive(Subcommand)]
pub enum PointsCommand {
    /// A volunteer's balance: earned, redeemed, pending.
    Balance(VolunteerArgs),
    /// A volunteer's credits and redemptions, newest first.
    History(VolunteerArgs),
    /// Record a redemption at the love supermarket (committee and station).
    Redeem(RedeemArgs),
    /// The month's honour roll (荣誉墙): orders, hours and points per volunteer.
    HonourRoll(HonourRollArgs),
}

/// Which volunteer.
#[derive(Args)]
pub struct VolunteerArgs {
    /// The volunteer (default: this device's user).
    #[arg(long)]
    volunteer: Option<String>,
}

/// `points redeem` arguments.
#[derive(Args)]
pub struct RedeemArgs {
    /// The volunteer whose points pay.
    #[arg(long)]
    volunteer: String,
    /// Item code of the love supermarket (rice_5kg, cooking_oil, eggs, …).
    #[arg(long)]
    item: String,
    /// Units.
    #[arg(long, default_value_t = 1)]
    quantity: u32,
}

/// `points honour-roll` arguments.
#[derive(Args)]
pub struct HonourRollArgs {
    /// The month (YYYY-MM; default: this month).
    #[arg(long)]
    month: Option<String>,
}

/// Runs a points command.
pub fn run(ctx: &Ctx, cmd: PointsCommand) -> Result<Output> {
    match cmd {
        PointsCommand::Balance(args) => balance(ctx, args),
        PointsCommand::History(args) => history(ctx, args),
        PointsCommand::Redeem(args) => redeem(ctx, args),
        PointsCommand::HonourRoll(args) => honour_roll(ctx, args),
    }
}

fn balance(ctx: &Ctx, args: VolunteerArgs) -> Result<Output> {
    let b = ctx.open()?.points_balance(args.volunteer.as_deref())?;
    let pending = if b.pending > 0 { format!(", {} pending", b.pending) } else { String::new() };
    let human =
        format!("{}: {} points (earned {}, redeemed {}{pending})", b.volunteer, b.balance, b.earned, b.redeemed);
    Ok(Output::new(b, human))
}

fn history(ctx: &Ctx, args: VolunteerArgs) -> Result<Output> {
    let store = ctx.open()?;
    let b = store.points_balance(args.volunteer.as_deref())?;
    let items = store.points_history(Some(&b.volunteer))?;
    let mut human = format!("{}: {} points\n", b.volunteer, b.balance);
    for e in &items {
        let status = e.status.map(|s| format!(" ({})", s.code())).unwrap_or_default();
        let _ = writeln!(
            human,
            "  {} {:<10} {:<14} ×{} {:>5} points{status}  {}",
            e.at.to_rfc3339(),
            e.kind.code(),
            e.code,
            e.quantity,
            e.points,
            e.recorded_by
        );
    }
    Ok(Output::new(json!({"volunteer": b.volunteer, "balance": b.balance, "items": items}), human))
}

fn redeem(ctx: &Ctx, args: RedeemArgs) -> Result<Output> {
    let r = ctx.open()?.redeem_points(&args.volunteer, &args.item, args.quantity)?;
    let human = format!(
        "redemption {}: {} × {} for {} points from {} — {} (balance {})",
        r.redemption_id,
        r.quantity,
        r.item,
        r.points,
        r.volunteer,
        r.status.code(),
        r.balance
    );
    Ok(Output::new(r, human))
}

fn honour_roll(ctx: &Ctx, args: HonourRollArgs) -> Result<Output> {
    let store = ctx.open()?;
    let month = match args.month.as_deref() {
        Some(m) => Month::parse(m)?,
        None => Month::of(store.today()),
    };
    let rows = store.honour_roll(&month)?;
    let mut human = format!("荣誉墙 {}\n", month.code());
    for (n, r) in rows.iter().enumerate() {
        let _ = writeln!(
            human,
            "{:>2}. {:<10} {} orders, {:.1} h, {} points",
            n + 1,
            r.volunteer,
            r.orders,
            f64::from(r.minutes) / 60.0,
            r.points
        );
    }
    Ok(Output::new(json!({"month": month.code(), "items": rows}), human))
}
