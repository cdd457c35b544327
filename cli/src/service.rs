//! `gridline service …`: order a volunteer service for a household (点单), dispatch it to a volunteer (派单),
//! accept or decline it (接单), mark it done, record the resident's rating (评单), cancel or comment, and list
//! and show orders. The workflow's rules are the core's (`service_workflow`); this file only parses and prints.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use gridline_core::model::NewServiceOrder;
use gridline_core::service_workflow::{OrderAction, OrderStage};
use gridline_core::store::{OrderAct, OrderDetail, OrderFilter};
use gridline_core::Result;
use serde_json::json;

use crate::field::{add_photos, parse_date};
use crate::output::Output;
use crate::Ctx;

/// Service-order commands.
#[derive(Subcommand)]
pub enum ServiceCommand {
    /// Order a service from the community's catalogue for a household (点单).
    Request(RequestArgs),
    /// Dispatch an order to a volunteer (派单; committee and station).
    Dispatch(DispatchArgs),
    /// Take an order dispatched to you (接单; the volunteer).
    Accept(ActArgs),
    /// Give back an order dispatched to you: it returns to `requested` for another volunteer.
    Decline(ActArgs),
    /// Mark an accepted order done, with a note and photos (the volunteer).
    Done(ActArgs),
    /// Record the resident's rating of a done order, 1–5 (评单).
    Evaluate(ActArgs),
    /// Cancel an order that is not done yet.
    Cancel(ActArgs),
    /// Add a note to an order at any stage.
    Comment(ActArgs),
    /// Orders in scope, with counts per stage.
    List(ListArgs),
    /// One order: the request, the resident, the volunteer, points, rating and full history.
    Show {
        /// Order id.
        order_id: String,
    },
}

/// `service request` arguments.
#[derive(Args)]
pub struct RequestArgs {
    /// The household served (may be left out with --from-visit: the visit's household).
    #[arg(long, default_value = "")]
    household: String,
    /// The resident served (default: the household's first current resident).
    #[arg(long)]
    resident: Option<String>,
    /// Service code from the community's catalogue (meal_delivery, errands, companionship, …).
    #[arg(long)]
    service: String,
    /// What is needed.
    #[arg(long, default_value = "")]
    note: String,
    /// Due day (YYYY-MM-DD; default: today plus the community's order due days).
    #[arg(long)]
    due: Option<String>,
    /// The visit the need was found on.
    #[arg(long = "from-visit")]
    from_visit: Option<String>,
}

/// `service dispatch` arguments.
#[derive(Args)]
pub struct DispatchArgs {
    /// Order id.
    order_id: String,
    /// The volunteer (user name) it goes to.
    #[arg(long)]
    volunteer: String,
    /// Due day (YYYY-MM-DD; default: the request's).
    #[arg(long)]
    due: Option<String>,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
}

/// Arguments of the actions on an order (accept, decline, done, evaluate, cancel, comment).
#[derive(Args)]
pub struct ActArgs {
    /// Order id.
    order_id: String,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
    /// Photo file (repeatable).
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
    /// The resident's rating, 1 to 5 (evaluate).
    #[arg(long)]
    rating: Option<u8>,
}

/// `service list` arguments.
#[derive(Args)]
pub struct ListArgs {
    /// Only this stage (requested, dispatched, accepted, done, evaluated, cancelled).
    #[arg(long)]
    stage: Option<String>,
    /// Only orders I requested, or that are dispatched to me.
    #[arg(long)]
    mine: bool,
    /// Only this grid.
    #[arg(long)]
    grid: Option<String>,
    /// Only orders past their due day.
    #[arg(long)]
    overdue: bool,
}

/// Runs a service-order command.
pub fn run(ctx: &Ctx, cmd: ServiceCommand) -> Result<Output> {
    match cmd {
        ServiceCommand::Request(args) => request(ctx, args),
        ServiceCommand::Dispatch(args) => dispatch(ctx, args),
        ServiceCommand::Accept(args) => act(ctx, OrderAction::Accept, args),
        ServiceCommand::Decline(args) => act(ctx, OrderAction::Decline, args),
        ServiceCommand::Done(args) => act(ctx, OrderAction::Done, args),
        ServiceCommand::Evaluate(args) => act(ctx, OrderAction::Evaluate, args),
        ServiceCommand::Cancel(args) => act(ctx, OrderAction::Cancel, args),
        ServiceCommand::Comment(args) => act(ctx, OrderAction::Comment, args),
        ServiceCommand::List(args) => list(ctx, args),
        ServiceCommand::Show { order_id } => Ok(show_output(ctx.open()?.order_detail(&order_id)?)),
    }
}

fn request(ctx: &Ctx, args: RequestArgs) -> Result<Output> {
    let due = args.due.as_deref().map(|d| parse_date("due", d)).transpose()?;
    let mut store = ctx.open()?;
    let f = store.request_service(NewServiceOrder {
        household_code: args.household,
        resident: args.resident,
        service: args.service,
        note: args.note,
        due,
        from_visit: args.from_visit,
    })?;
    let d = store.order_detail(&f.order_id)?;
    let human = format!(
        "order {} requested: {} for {} ({}), due {}",
        d.order_id,
        d.service,
        d.household_code,
        d.resident.as_deref().unwrap_or("-"),
        d.due.map_or("-".to_string(), |d| d.to_string())
    );
    Ok(Output::new(
        json!({"order_id": d.order_id, "grid": d.grid, "stage": d.stage, "due": d.due, "household_code": d.household_code}),
        human,
    ))
}

fn dispatch(ctx: &Ctx, args: DispatchArgs) -> Result<Output> {
    let due = args.due.as_deref().map(|d| parse_date("due", d)).transpose()?;
    let act = OrderAct {
        action: OrderAction::Dispatch,
        note: args.note,
        volunteer: Some(args.volunteer),
        due,
        rating: None,
        photos: vec![],
    };
    Ok(show_output(ctx.open()?.order_act(&args.order_id, act)?))
}

fn act(ctx: &Ctx, action: OrderAction, args: ActArgs) -> Result<Output> {
    let mut store = ctx.open()?;
    let photos = add_photos(&mut store, &args.photos)?;
    let act = OrderAct { action, note: args.note, volunteer: None, due: None, rating: args.rating, photos };
    Ok(show_output(store.order_act(&args.order_id, act)?))
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<Output> {
    let filter = OrderFilter {
        stage: args.stage.as_deref().map(str::parse::<OrderStage>).transpose()?,
        mine: args.mine,
        grid: args.grid,
        overdue: args.overdue,
    };
    let list = ctx.open()?.order_list(&filter)?;
    let mut human = String::new();
    for o in &list.items {
        let late = if o.overdue { format!("  OVERDUE {}d", o.overdue_days) } else { String::new() };
        let _ = writeln!(
            human,
            "{}  {:<10} {:<14} {:<10} {:<10} due {}{late}",
            o.order_id,
            o.stage.code(),
            o.service,
            o.household_code,
            o.volunteer.as_deref().unwrap_or("-"),
            o.due.map_or("-".to_string(), |d| d.to_string()),
        );
    }
    let counts: Vec<String> = list.counts.iter().filter(|(_, n)| **n > 0).map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(human, "{} orders ({})", list.items.len(), counts.join(", "));
    Ok(Output::new(list, human))
}

fn show_output(d: OrderDetail) -> Output {
    let mut human = format!(
        "{} {} for {} {} ({}) — {}\n",
        d.order_id,
        d.service,
        d.household_code,
        d.resident.as_deref().unwrap_or(""),
        d.address,
        d.stage.code()
    );
    if let Some(phone) = &d.phone {
        let _ = writeln!(human, "phone {phone}");
    }
    if !d.note.is_empty() {
        let _ = writeln!(human, "need: {}", d.note);
    }
    let volunteer = d.volunteer.as_deref().unwrap_or("-");
    let due = d.due.map_or("-".to_string(), |d| d.to_string());
    let late = if d.overdue { format!(", overdue {}d", d.overdue_days) } else { String::new() };
    let _ = writeln!(human, "volunteer {volunteer}, due {due}{late}, {} points", d.points);
    if let Some(rating) = d.rating {
        let _ = writeln!(human, "rating {rating}/5");
    }
    for e in &d.events {
        let mark = match &e.superseded_reason {
            Some(r) => format!("  (superseded: {})", r.code()),
            None => String::new(),
        };
        let line = format!("  {} {:<8} {} ({}) {}{mark}", e.at, e.action, e.actor, e.role, e.note);
        let _ = writeln!(human, "{}", line.trim_end());
    }
    if !d.allowed_actions.is_empty() {
        let _ =
            writeln!(human, "you may: {}", d.allowed_actions.iter().map(|a| a.code()).collect::<Vec<_>>().join(", "));
    }
    Output::new(d, human)
}
