//! The needs list (问题清单): the month's needs found on visits and asked for as service requests, by
//! category (need) and by building, each with a chart and the table it draws. The counts are the core's
//! (`Store::needs_list` on the replica); this view only arranges them.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gridline_core::needs::NeedItem;
use gridline_core::schedule::Month;
use gridline_core::store::NeedsFilter;
use serde::Deserialize;

use super::chart::{Axis, Bar, BarChart};
use super::i18n::{Tr, Words};
use super::page::{error_page, month_or, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::Result;

/// The needs-list route.
pub fn routes() -> super::Routes {
    super::Routes::new().route("/needs", axum::routing::get(page))
}

/// The words of the needs list.
pub const WORDS: Words = &[
    ("nav.needs", "问题清单", "Needs list"),
    ("needs.title", "问题清单", "Needs list"),
    ("needs.month", "月份", "Month"),
    ("needs.grid", "网格", "Grid"),
    ("needs.all_grids", "全部网格", "All grids"),
    ("needs.show", "查看", "Show"),
    ("needs.empty", "本月没有记录到需求。", "No need was recorded this month."),
    ("needs.by_category", "按需求类别", "By category"),
    ("needs.by_building", "按楼栋", "By building"),
    ("needs.chart_category", "各类需求涉及户数", "Households per need"),
    ("needs.chart_building", "各楼栋需求户次", "Needs per building (household-needs)"),
    ("needs.need", "需求", "Need"),
    ("needs.households", "户数", "Households"),
    ("needs.visits", "访视发现", "Found on visits"),
    ("needs.requests", "点单次数", "Service requests"),
    ("needs.first_seen", "首次发现", "First seen"),
    ("needs.last_seen", "最近发现", "Last seen"),
    ("needs.project", "对应项目", "Project"),
    ("needs.building", "楼栋", "Building"),
    ("needs.household_needs", "需求户次", "Household-needs"),
    ("needs.unknown_building", "（已迁出）", "(moved out)"),
];

/// The page's filters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NeedsQuery {
    /// `YYYY-MM` (default: the current month).
    #[serde(default)]
    pub month: String,
    /// A grid code (default: every grid).
    #[serde(default)]
    pub grid: String,
}

/// One building's needs: per need its households, and the sum (household-needs).
pub struct BuildingRow {
    pub grid: String,
    pub building: String,
    pub needs: Vec<(String, u32)>,
    pub total: u32,
}

/// What the page shows.
pub struct Needs {
    pub month: String,
    pub grid: String,
    pub grids: Vec<String>,
    pub items: Vec<(NeedItem, String)>,
    pub buildings: Vec<BuildingRow>,
    pub category_chart: String,
    pub building_chart: String,
}

/// Arranges the core's needs list by building: per (grid, building), the households of each need.
pub fn by_building(tr: &Tr, items: &[NeedItem]) -> Vec<BuildingRow> {
    let mut places: BTreeMap<(String, String), Vec<(String, u32)>> = BTreeMap::new();
    for n in items {
        for b in &n.by_building {
            let name = tr.name(&n.name_zh, &n.name_en).to_string();
            places.entry((b.grid.clone(), b.building.clone())).or_default().push((name, b.households));
        }
    }
    places
        .into_iter()
        .map(|((grid, building), needs)| {
            let total = needs.iter().map(|(_, n)| n).sum();
            BuildingRow { grid, building, needs, total }
        })
        .collect()
}

fn load(console: &Console, community_id: &str, tr: Tr, q: &NeedsQuery) -> Result<Needs> {
    console.replicas.with(community_id, |store| {
        let month: Month = month_or(&q.month, Month::of(store.today()))?;
        let grid = Some(q.grid.trim().to_string()).filter(|g| !g.is_empty());
        let list = store.needs_list(&NeedsFilter { grid: grid.clone(), month: Some(month.code()) })?;
        let buildings = by_building(&tr, &list.items);
        let category_bars = list
            .items
            .iter()
            .map(|n| Bar {
                label: tr.name(&n.name_zh, &n.name_en).to_string(),
                value: f64::from(n.households),
                text: n.households.to_string(),
            })
            .collect();
        let building_bars = buildings
            .iter()
            .map(|b| Bar {
                label: format!("{} {}", b.grid, b.building),
                value: f64::from(b.total),
                text: b.total.to_string(),
            })
            .collect();
        let chart =
            |title: &str, bars: Vec<Bar>| BarChart { title, bars, max: 0.0, target: None, axis: Axis::Count }.svg();
        Ok(Needs {
            month: month.code(),
            grid: grid.unwrap_or_default(),
            grids: store.grid_codes()?,
            category_chart: chart(tr.t("needs.chart_category"), category_bars)?,
            building_chart: chart(tr.t("needs.chart_building"), building_bars)?,
            items: list
                .items
                .into_iter()
                .map(|n| {
                    let name = tr.name(&n.name_zh, &n.name_en).to_string();
                    (n, name)
                })
                .collect(),
            buildings,
        })
    })
}

#[derive(Template)]
#[template(path = "console/needs.html")]
struct NeedsPage {
    chrome: Chrome,
    n: Needs,
}

/// `GET /console/needs`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<NeedsQuery>) -> Response {
    let chrome = Chrome::of(&staffer, "needs", "/console/needs");
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    match console.blocking(move |c| load(c, &community, tr, &q)).await {
        Ok(n) => render(&NeedsPage { chrome, n }),
        Err(e) => error_page(chrome, &e),
    }
}
