//! The field commands: `init`, `rounds`, `checkin`, `household show`.

use std::fmt::Write;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate};
use clap::{Args, Subcommand};
use gridline_core::model::{CheckInKind, CheckInOutcome, Location, NewCheckIn, Role};
use gridline_core::store::InitOptions;
use gridline_core::{Error, Result, Store};
use serde_json::json;

use crate::output::Output;
use crate::Ctx;

/// `init` arguments.
#[derive(Args)]
pub struct InitArgs {
    /// User name.
    #[arg(long)]
    user: String,
    /// Role: grid_leader, grid_worker, social_worker, building_lead, committee, station, street, admin.
    #[arg(long)]
    role: String,
    /// Community time zone.
    #[arg(long, default_value = gridline_core::model::DEFAULT_TIME_ZONE)]
    timezone: String,
    /// Community name.
    #[arg(long, default_value = "")]
    community_name: String,
    /// Grids in scope (repeatable; none: every grid).
    #[arg(long = "grid")]
    grids: Vec<String>,
    /// Join an existing community (its id) instead of creating a new one.
    #[arg(long)]
    community_id: Option<String>,
    /// A building lead's buildings (repeatable; required for building_lead, refused for other roles).
    #[arg(long = "building")]
    buildings: Vec<String>,
}

/// Creates a standalone store (and its key file when none exists).
pub fn init(ctx: &Ctx, args: InitArgs) -> Result<Output> {
    let role = args.role.parse::<Role>()?;
    let key = ctx.prepare_new_store()?;
    let opts = InitOptions {
        user: args.user,
        role,
        timezone: args.timezone,
        community_name: args.community_name,
        community_id: args.community_id,
        grids: args.grids,
        buildings: args.buildings,
    };
    let store = Store::init(&ctx.store, &key, opts, ctx.clock.clone())?;
    let d = store.device();
    let human = format!("device {} for {} ({}) in {}", d.device_id, d.user, d.role.code(), ctx.store.display());
    Ok(Output::new(
        json!({"device_id": d.device_id, "user": d.user, "role": d.role.code(), "community_id": d.community_id, "key_file": ctx.key_file}),
        human,
    ))
}

/// `rounds` arguments.
#[derive(Args)]
pub struct RoundsArgs {
    /// The day (YYYY-MM-DD, community time zone); default today.
    #[arg(long)]
    date: Option<String>,
}

/// Parses a `YYYY-MM-DD` argument.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, gridline_core::model::DAY_FORMAT)
        .map_err(|_| Error::invalid(field, format!("{s:?} is not a YYYY-MM-DD date")))
}

/// Parses an RFC 3339 time argument.
pub fn parse_time(field: &str, s: &str) -> Result<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(s).map_err(|_| Error::invalid(field, format!("{s:?} is not an RFC 3339 time")))
}

/// Today's (or a given day's) rounds.
pub fn rounds(ctx: &Ctx, args: RoundsArgs) -> Result<Output> {
    let date = args.date.as_deref().map(|d| parse_date("date", d)).transpose()?;
    let store = ctx.open()?;
    let r = store.rounds(date)?;
    let mut human = format!("rounds for {}: {} households\n", r.date, r.items.len());
    for item in &r.items {
        let reasons: Vec<String> = item
            .reasons
            .iter()
            .map(|x| match &x.tag {
                Some(t) => format!("{} ({t}, {}d overdue)", x.contact.code(), x.overdue_days),
                None => format!("{} ({}d overdue)", x.contact.code(), x.overdue_days),
            })
            .collect();
        let _ = writeln!(
            human,
            "{:<10} {}-{} {}F {}  {}",
            item.household_code,
            item.building,
            item.unit,
            item.floor,
            item.room,
            reasons.join(", ")
        );
    }
    Ok(Output::new(r, human))
}

/// `checkin` arguments.
#[derive(Args)]
pub struct CheckinArgs {
    /// Household code.
    household: String,
    /// door, phone, observed or absent.
    #[arg(long)]
    kind: String,
    /// well, attention or problem.
    #[arg(long)]
    outcome: String,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
    /// Photo file (repeatable).
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
    /// When it happened (RFC 3339), to back-fill a paper record.
    #[arg(long)]
    at: Option<String>,
    /// Latitude.
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude.
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
}

/// Reads and stores photo files, returning their hashes.
pub fn add_photos(store: &mut Store, files: &[PathBuf]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).map_err(|e| Error::Io(format!("{}: {e}", f.display())))?;
            store.add_photo(&bytes)
        })
        .collect()
}

/// A position fix from `--lat`/`--lon` (both or neither; clap enforces the pair).
pub fn location(lat: Option<f64>, lon: Option<f64>) -> Option<Location> {
    Some(Location { lat: lat?, lon: lon?, accuracy_m: None })
}

/// Records a check-in.
pub fn checkin(ctx: &Ctx, args: CheckinArgs) -> Result<Output> {
    let kind = args.kind.parse::<CheckInKind>()?;
    let outcome = args.outcome.parse::<CheckInOutcome>()?;
    let at = args.at.as_deref().map(|t| parse_time("at", t)).transpose()?;
    let mut store = ctx.open()?;
    let photos = add_photos(&mut store, &args.photos)?;
    let location = location(args.lat, args.lon);
    let c = store.check_in(NewCheckIn {
        household_code: args.household,
        kind,
        outcome,
        note: args.note,
        photos,
        location,
        at,
    })?;
    let human = format!("check-in {} recorded", c.check_in_id);
    Ok(Output::new(json!({"check_in_id": c.check_in_id, "at": c.at.to_rfc3339(), "photos": c.photos}), human))
}

/// Household commands.
#[derive(Subcommand)]
pub enum HouseholdCommand {
    /// A household: residents, recent check-ins, what is due.
    Show {
        /// Household code.
        household: String,
    },
}

/// Runs a household command.
pub fn household(ctx: &Ctx, cmd: HouseholdCommand) -> Result<Output> {
    match cmd {
        HouseholdCommand::Show { household } => {
            let store = ctx.open()?;
            let d = store.household_detail(&household)?;
            let mut human =
                format!("{} — {} {}-{} {}F {}\n", d.household_code, d.grid, d.building, d.unit, d.floor, d.room);
            for r in &d.residents {
                let _ = writeln!(
                    human,
                    "  {} {} {} [{}]{}",
                    r.name,
                    r.gender,
                    r.birth_year,
                    r.tags.join(","),
                    if r.moved_out { " (moved out)" } else { "" }
                );
            }
            for c in &d.check_ins {
                let _ = writeln!(human, "  {} {} {} {}", c.at.to_rfc3339(), c.kind.code(), c.outcome.code(), c.note);
            }
            for r in &d.due {
                let _ = writeln!(human, "  due: {} {} ({}d overdue)", r.contact.code(), r.due_date, r.overdue_days);
            }
            Ok(Output::new(d, human))
        }
    }
}
