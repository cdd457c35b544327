//! SQL of the materialised `service_order` and `service_order_event` tables: rewriting an order's rows from
//! what `service_workflow::replay` derived, and the list, counts and detail reads. Stages, volunteers and due
//! days are decided in `service_workflow`; this file only stores and reads them.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::columns::{code_column, optional_code_column, parse_day, time_column};
use super::incidents::Conditions;
use crate::docs::service_order::ServiceOrder;
use crate::docs::{split_list, DocId};
use crate::error::Result;
use crate::service_workflow::{OrderDerivation, OrderStage};
use crate::store::{OrderDetail, OrderEventView, OrderListItem};

/// A nullable `YYYY-MM-DD` column; a day this build did not write reads as none.
fn optional_day(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<chrono::NaiveDate>> {
    Ok(r.get::<_, Option<String>>(idx)?.as_deref().and_then(parse_day))
}

/// Deletes an order's rows.
pub(crate) fn delete(tx: &Transaction<'_>, order_id: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM service_order_event WHERE order_id = ?1")?.execute([order_id])?;
    tx.prepare_cached("DELETE FROM service_order WHERE order_id = ?1")?.execute([order_id])?;
    Ok(())
}

/// Writes the rows of an order that has none: its `service_order` row at `stage`, and one
/// `service_order_event` row per event with its outcome in `d`.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    id: &DocId,
    order: &ServiceOrder,
    d: &OrderDerivation,
    stage: OrderStage,
) -> Result<()> {
    let order_id = id.key.as_deref().unwrap_or_default();
    let f = &order.fields;
    let updated_at = order.events.last().map(|e| e.at.clone()).unwrap_or_default();
    tx.prepare_cached(
        "INSERT INTO service_order (order_id, doc_id, grid, household_code, resident, address, phone, service, note,
             from_visit, stage, stage_since, requester, requester_role, requested_at, volunteer, due, rating, done_at,
             evaluated_at, event_count, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        order_id,
        id.to_string(),
        id.grid,
        f.household_code,
        f.resident,
        f.address,
        f.phone,
        f.service,
        f.note,
        f.from_visit,
        stage.code(),
        d.stage_since.map(|t| t.to_rfc3339()),
        d.requester,
        d.requester_role.map(|r| r.code()),
        d.requested_at.map(|t| t.to_rfc3339()),
        d.volunteer,
        d.due.map(|day| day.to_string()),
        d.rating,
        d.done_at.map(|t| t.to_rfc3339()),
        d.evaluated_at.map(|t| t.to_rfc3339()),
        order.events.len() as i64,
        updated_at,
    ])?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO service_order_event (order_id, seq, event_id, action, actor, device, role, at, applied,
             stage_after, superseded_reason, note, volunteer, due, rating, photos)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (seq, (e, o)) in order.events.iter().zip(&d.outcomes).enumerate() {
        stmt.execute(params![
            order_id,
            seq as i64,
            e.event_id,
            e.action,
            e.actor,
            e.device,
            e.role,
            e.at,
            o.applied,
            o.stage_after.map(|s| s.code()),
            o.superseded_reason.map(|r| r.code()),
            e.note,
            e.volunteer,
            e.due,
            e.rating,
            e.photos.join(";"),
        ])?;
    }
    Ok(())
}

/// The document id of an order, when it is indexed.
pub(crate) fn doc_id(conn: &Connection, order_id: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT doc_id FROM service_order WHERE order_id = ?1", [order_id], |r| r.get(0)).optional()?)
}

/// Orders matching `wanted`, soonest due first (orders without a due day last), then oldest request first;
/// their overdue fields are left for the caller.
pub(crate) fn list(conn: &Connection, wanted: &Conditions) -> Result<Vec<OrderListItem>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT order_id, grid, household_code, stage, service, volunteer, due, requested_at FROM service_order {}
         ORDER BY due IS NULL, due, requested_at, order_id",
        wanted.clause()
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(wanted.args()), |r| {
        Ok(OrderListItem {
            order_id: r.get(0)?,
            grid: r.get(1)?,
            household_code: r.get(2)?,
            stage: code_column(r, 3)?,
            service: r.get(4)?,
            volunteer: r.get(5)?,
            due: optional_day(r, 6)?,
            overdue: false,
            overdue_days: 0,
            requested_at: time_column(r, 7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many orders matching `scope` are at each stage (stage code, count).
pub(crate) fn count_by_stage(conn: &Connection, scope: &Conditions) -> Result<Vec<(String, u32)>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT stage, count(*) FROM service_order {} GROUP BY stage", scope.clause()))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(scope.args()), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One order's row, without its events, points, photos, allowed actions and overdue fields (left for the
/// caller).
pub(crate) fn detail(conn: &Connection, order_id: &str) -> Result<OrderDetail> {
    Ok(conn.query_row(
        "SELECT order_id, doc_id, grid, household_code, resident, address, phone, service, note, stage, volunteer,
                due, rating, requester, requested_at, from_visit
         FROM service_order WHERE order_id = ?1",
        [order_id],
        |r| {
            Ok(OrderDetail {
                order_id: r.get(0)?,
                doc_id: r.get(1)?,
                grid: r.get(2)?,
                household_code: r.get(3)?,
                resident: r.get(4)?,
                address: r.get(5)?,
                phone: r.get(6)?,
                service: r.get(7)?,
                note: r.get(8)?,
                stage: code_column(r, 9)?,
                volunteer: r.get(10)?,
                due: optional_day(r, 11)?,
                overdue: false,
                overdue_days: 0,
                points: 0,
                rating: r.get(12)?,
                requester: r.get(13)?,
                requested_at: time_column(r, 14)?,
                from_visit: r.get(15)?,
                photos: Vec::new(),
                events: Vec::new(),
                allowed_actions: Vec::new(),
            })
        },
    )?)
}

/// An order's events in order, superseded ones included.
pub(crate) fn events(conn: &Connection, order_id: &str) -> Result<Vec<OrderEventView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, action, actor, role, at, applied, superseded_reason, stage_after, note, volunteer, due,
                rating, photos
         FROM service_order_event WHERE order_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([order_id], |r| {
        Ok(OrderEventView {
            event_id: r.get(0)?,
            action: r.get(1)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            at: r.get(4)?,
            applied: r.get(5)?,
            superseded_reason: optional_code_column(r, 6)?,
            stage_after: optional_code_column(r, 7)?,
            note: r.get(8)?,
            volunteer: r.get(9)?,
            due: r.get(10)?,
            rating: r.get(11)?,
            photos: split_list(&r.get::<_, String>(12)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
