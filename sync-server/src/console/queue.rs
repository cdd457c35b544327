//! The queue: incidents by stage, severity, grid, category and age, nearest deadline first (so the overdue
//! lead, marked), with live countdowns, filters, search and paging, and the counts per stage. The rows are the
//! core's incident list read from the replica; `GET /console/queue/rows` is the same table alone, which the
//! page fetches again when the live updates announce a change.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridline_core::model::community::CatalogueEntry;
use gridline_core::model::Severity;
use gridline_core::store::{IncidentFilter, IncidentListItem};
use gridline_core::workflow::Stage;
use serde::Deserialize;

use super::i18n::Tr;
use super::page::{error_page, local_time, paged, render, url_encode, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::Result;

/// The queue's routes.
pub fn routes() -> super::Routes {
    use axum::routing::get;
    super::Routes::new().route("/", get(index)).route("/queue", get(page)).route("/queue/rows", get(rows))
}

/// Rows per page.
pub const PAGE_ROWS: usize = 50;

/// The queue's filters, as the query string carries them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueQuery {
    /// A stage code, `open` (default: every stage not final) or `all`.
    #[serde(default)]
    pub stage: String,
    /// `normal` or `urgent`.
    #[serde(default)]
    pub severity: String,
    /// A grid code.
    #[serde(default)]
    pub grid: String,
    /// A category code.
    #[serde(default)]
    pub category: String,
    /// Text in the title or the household code.
    #[serde(default)]
    pub q: String,
    /// Only overdue (`1`).
    #[serde(default)]
    pub overdue: String,
    /// Page, from 1.
    #[serde(default)]
    pub page: Option<usize>,
}

impl QueueQuery {
    /// The query string (without paging).
    pub fn query_string(&self) -> String {
        let pairs = [
            ("stage", &self.stage),
            ("severity", &self.severity),
            ("grid", &self.grid),
            ("category", &self.category),
            ("q", &self.q),
            ("overdue", &self.overdue),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Whether the filter asks for the stage `code` (the stage selector's current option).
    pub fn is_stage(&self, code: &str) -> bool {
        self.stage == code
    }

    fn filter(&self) -> IncidentFilter {
        IncidentFilter {
            stage: self.stage.parse::<Stage>().ok(),
            severity: self.severity.parse::<Severity>().ok(),
            grid: Some(self.grid.clone()).filter(|g| !g.is_empty()),
            overdue: self.overdue == "1",
            waiting_for_me: false,
        }
    }

    fn keeps(&self, item: &IncidentListItem) -> bool {
        let open = self.stage.is_empty() || self.stage == "open";
        if open && item.stage.is_final() {
            return false;
        }
        if !self.category.is_empty() && item.category != self.category {
            return false;
        }
        let q = self.q.trim();
        q.is_empty() || item.title.contains(q) || item.household_code.as_deref().is_some_and(|h| h.contains(q))
    }
}

/// One row as the page shows it.
pub struct QueueRow {
    pub incident_id: String,
    pub title: String,
    pub stage: String,
    pub stage_code: &'static str,
    pub urgent: bool,
    pub severity: &'static str,
    pub category: String,
    pub grid: String,
    pub household: String,
    pub reported: String,
    /// Deadline, RFC 3339 UTC (the page counts down to it), empty when the stage has none.
    pub deadline: String,
    /// Deadline in the community's time.
    pub deadline_local: String,
    pub overdue: bool,
    pub overdue_minutes: i64,
}

/// The queue's data: rows of the current page, counts, paging.
pub struct Queue {
    pub rows: Vec<QueueRow>,
    pub counts: Vec<(&'static str, String, u32)>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub grids: Vec<String>,
    pub categories: Vec<(String, String)>,
}

fn row(tr: &Tr, item: IncidentListItem, categories: &[CatalogueEntry], tz: &chrono_tz::Tz) -> QueueRow {
    QueueRow {
        title: item.title,
        stage: tr.stage(&item.stage).to_string(),
        stage_code: item.stage.code(),
        urgent: item.severity == Severity::Urgent,
        severity: tr.t(if item.severity == Severity::Urgent { "severity.urgent" } else { "severity.normal" }),
        category: tr.entry(categories, &item.category).to_string(),
        grid: item.grid,
        household: item.household_code.unwrap_or_default(),
        reported: local_time(&item.reported_at, tz),
        deadline: item.deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
        deadline_local: item.deadline.map(|d| local_time(&d, tz)).unwrap_or_default(),
        overdue: item.overdue,
        overdue_minutes: item.overdue_minutes,
        incident_id: item.incident_id,
    }
}

/// Reads the queue from the replica.
pub fn load(console: &Console, community_id: &str, tr: Tr, q: &QueueQuery) -> Result<Queue> {
    console.replicas.with(community_id, |store| {
        let settings = store.settings().clone();
        let tz = settings.tz();
        let list = store.incident_list(&q.filter())?;
        let matching: Vec<IncidentListItem> = list.items.into_iter().filter(|i| q.keeps(i)).collect();
        let total = matching.len();
        let (shown, page, pages) = paged(matching, q.page, PAGE_ROWS);
        let rows = shown.into_iter().map(|i| row(&tr, i, &settings.incident_categories, &tz)).collect();
        let counts: BTreeMap<String, u32> = list.counts;
        let counts = Stage::ALL
            .iter()
            .map(|s| (s.code(), tr.stage(s).to_string(), counts.get(s.code()).copied().unwrap_or(0)))
            .collect();
        let grids = store.households_in_scope()?.into_iter().map(|h| h.grid).collect::<std::collections::BTreeSet<_>>();
        let categories = settings
            .incident_categories
            .iter()
            .map(|c| (c.code.clone(), tr.entry(&settings.incident_categories, &c.code).to_string()))
            .collect();
        Ok(Queue { rows, counts, total, page, pages, grids: grids.into_iter().collect(), categories })
    })
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    chrome: Chrome,
    q: QueueQuery,
    query: String,
    queue: Queue,
    stages: Vec<(&'static str, String)>,
    views: Vec<crate::storage::SavedView>,
}

#[derive(Template)]
#[template(path = "console/queue_rows.html")]
struct QueueRows {
    chrome: Chrome,
    query: String,
    queue: Queue,
}

/// `GET /console/`.
pub async fn index() -> Redirect {
    Redirect::to("/console/queue")
}

async fn fetch(console: &Arc<Console>, staffer: &Staffer, q: &QueueQuery) -> Result<Queue> {
    let (community, tr, q) = (staffer.staff.community_id.clone(), staffer.tr(), q.clone());
    console.blocking(move |c| load(c, &community, tr, &q)).await
}

/// `GET /console/queue`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<QueueQuery>) -> Response {
    let query = q.query_string();
    let here = format!("/console/queue?{query}");
    let chrome = Chrome::of(&staffer, "queue", here);
    let views = super::views::load(&console, &staffer.staff.community_id).await;
    match (fetch(&console, &staffer, &q).await, views) {
        (Ok(queue), Ok(views)) => {
            let tr = staffer.tr();
            let stages = Stage::ALL.iter().map(|s| (s.code(), tr.stage(s).to_string())).collect();
            render(&QueuePage { chrome, q, query, queue, stages, views })
        }
        (Err(e), _) | (_, Err(e)) => error_page(chrome, &e),
    }
}

/// `GET /console/queue/rows`: the table alone (live updates and paging).
pub async fn rows(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<QueueQuery>) -> Response {
    let query = q.query_string();
    let chrome = Chrome::of(&staffer, "queue", format!("/console/queue?{query}"));
    match fetch(&console, &staffer, &q).await {
        Ok(queue) => render(&QueueRows { chrome, query, queue }),
        Err(e) => e.into_response(),
    }
}
