//! The monthly electronic ledger (电子台账): choose a month and a grid (or the whole community) and download
//! it as CSV or XLSX. The ledger is the core's (`Store::ledger` on the replica) and so is the file
//! (`ledger::export`), with headers in the page's language: zh-Hans by default, English when the page is in
//! English. A download is written to the audit log: the file holds residents' names.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gridline_core::docs::valid_code;
use gridline_core::ledger::export;
use gridline_core::schedule::Month;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::i18n::Lang;
use super::page::{error_page, month_or, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The ledger page's words.
pub const WORDS: super::i18n::Words = &[
    ("ledger.title", "电子台账", "Monthly ledger"),
    ("ledger.month", "月份", "Month"),
    ("ledger.grid", "范围", "Scope"),
    ("ledger.community", "全社区", "Whole community"),
    ("ledger.format", "文件格式", "File format"),
    ("ledger.csv", "CSV（逗号分隔，可用 Excel 打开）", "CSV (comma-separated, opens in Excel)"),
    ("ledger.xlsx", "Excel 工作簿（XLSX，每部分一个工作表）", "Excel workbook (XLSX, one sheet per section)"),
    ("ledger.download", "下载台账", "Download the ledger"),
    (
        "ledger.about",
        "台账由系统根据入户、访视和事件记录自动生成：入户率、特殊人群联系、服务项目、事件办理时长、评价满意率，以及当月每条记录。",
        "The ledger is generated from the check-ins, visits and incidents recorded: check-in rate, special-care contacts, services, incident handling times, satisfaction, and every record of the month.",
    ),
    ("ledger.bad_format", "文件格式只能是 CSV 或 XLSX。", "The file format must be CSV or XLSX."),
];

/// The ledger routes.
pub fn routes() -> super::Routes {
    use axum::routing::get;
    super::Routes::new().route("/ledger", get(page)).route("/ledger/download", get(download))
}

/// A file format of the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One CSV file, every section in turn (UTF-8 with BOM).
    Csv,
    /// An XLSX workbook, one sheet per section.
    Xlsx,
}

impl Format {
    fn parse(s: &str) -> Result<Format> {
        match s {
            "" | "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            _ => Err(ServerError::bad_request(ErrorCode::InvalidInput, "format: csv or xlsx")),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The ledger query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LedgerQuery {
    /// `YYYY-MM`; empty for the current month.
    #[serde(default)]
    pub month: String,
    /// A grid code; empty for the whole community.
    #[serde(default)]
    pub grid: String,
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    pub format: String,
}

/// The file name of a download: `ledger-2026-11-G01.xlsx`, `ledger-2026-11-community.csv`.
pub fn file_name(month: &Month, grid: Option<&str>, format: Format) -> String {
    format!("ledger-{}-{}.{}", month.code(), grid.unwrap_or("community"), format.extension())
}

#[derive(Template)]
#[template(path = "console/ledger.html")]
struct LedgerPage {
    chrome: Chrome,
    month: String,
    grids: Vec<String>,
}

/// `GET /console/ledger`: the download form.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer) -> Response {
    let chrome = Chrome::of(&staffer, "ledger", "/console/ledger");
    let community = staffer.staff.community_id.clone();
    let found =
        console.blocking(move |c| c.replicas.with(&community, |s| Ok((Month::of(s.today()), s.grid_codes()?)))).await;
    match found {
        Ok((month, grids)) => render(&LedgerPage { chrome, month: month.code(), grids }),
        Err(e) => error_page(chrome, &e),
    }
}

/// Gathers the ledger on the replica (under its lock), then writes the file (outside it) and audits the
/// download.
fn build(
    console: &Console,
    staffer: &Staffer,
    q: &LedgerQuery,
    lang: export::Lang,
) -> Result<(String, Format, Vec<u8>)> {
    let format = Format::parse(&q.format)?;
    let grid = Some(q.grid.trim()).filter(|g| !g.is_empty());
    if grid.is_some_and(|g| !valid_code(g)) {
        return Err(ServerError::bad_request(ErrorCode::InvalidInput, "grid: a grid code"));
    }
    let community = &staffer.staff.community_id;
    let ledger = console.replicas.with(community, |s| {
        let month = month_or(&q.month, Month::of(s.today()))?;
        Ok((month, s.ledger(&month, grid)?))
    })?;
    let (month, ledger) = ledger;
    let bytes = match format {
        Format::Csv => ledger.to_csv(lang)?,
        Format::Xlsx => ledger.to_xlsx(lang)?,
    };
    let name = file_name(&month, grid, format);
    console.app.engine.storage().append_audit(&staffer.audit(
        "ledger_download",
        &name,
        &format!("{} bytes", bytes.len()),
    ))?;
    Ok((name, format, bytes))
}

/// `GET /console/ledger/download?month=YYYY-MM&grid=G01&format=csv|xlsx`.
pub async fn download(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<LedgerQuery>) -> Response {
    let chrome = Chrome::of(&staffer, "ledger", "/console/ledger");
    let lang = match staffer.lang {
        Lang::Zh => export::Lang::Zh,
        Lang::En => export::Lang::En,
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    match console.blocking(move |c| build(c, &s, &q, lang)).await {
        Ok((name, format, bytes)) => (
            [
                (header::CONTENT_TYPE, format.content_type().to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                // Residents' data: never kept by a shared cache.
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            let bad_format = e.code == ErrorCode::InvalidInput && e.message.starts_with("format");
            if bad_format {
                let message = chrome.tr.t("ledger.bad_format").to_string();
                let page = super::page::ErrorPage { code: e.code.code().to_string(), message, chrome };
                return (e.status, render(&page)).into_response();
            }
            error_page(chrome, &e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_month_scope_and_format() {
        let month = Month::parse("2026-11").expect("month");
        assert_eq!(file_name(&month, Some("G01"), Format::Xlsx), "ledger-2026-11-G01.xlsx");
        assert_eq!(file_name(&month, None, Format::Csv), "ledger-2026-11-community.csv");
        assert!(Format::parse("pdf").is_err());
    }
}
