//! The roster: upload a roster CSV (PRODUCT.md §7) with the CLI's rules and line-numbered errors (the
//! server-side import, `admin::import_roster_checked`: a malformed row applies nothing), and browse it —
//! grids, a grid's households (code, address, residents, tags), a household's residents, a grid's
//! special-care residents. Admin and station staff upload; everyone else reads.
//!
//! Residents' phone and ID numbers are personal information the triage work never needs in full: these
//! pages show them masked (`138****5678`), and no page of the console shows them unmasked.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gridline_core::docs::roster::ImportSummary;
use gridline_core::docs::valid_code;
use gridline_core::model::{CommunitySettings, Household, Resident};
use gridline_core::roster_csv::RosterError;
use gridline_core::ErrorCode;

use super::household::{mask, Secret};
use super::i18n::{Lang, Tr};
use super::page::{error_page, may_administer, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The roster's words.
pub const WORDS: super::i18n::Words = &[
    ("roster.title", "居民名册", "Roster"),
    ("roster.grids", "网格", "Grids"),
    ("roster.grid", "网格", "Grid"),
    ("roster.households", "户数", "Households"),
    ("roster.residents", "居民数", "Residents"),
    ("roster.special_care", "特殊人群", "Special care"),
    ("roster.special_care_of", "特殊人群名单", "Special-care residents"),
    ("roster.household", "户号", "Household"),
    ("roster.address", "地址（楼栋-单元 室）", "Address (building-unit room)"),
    ("roster.floor", "楼层", "Floor"),
    ("roster.tags", "关爱类别数", "Special-care tags"),
    ("roster.tag_names", "关爱类别", "Special-care categories"),
    ("roster.name", "姓名", "Name"),
    ("roster.gender", "性别", "Gender"),
    ("roster.male", "男", "Male"),
    ("roster.female", "女", "Female"),
    ("roster.birth_year", "出生年份", "Born"),
    ("roster.phone", "电话（已隐去部分）", "Phone (masked)"),
    ("roster.id_number", "身份证号（已隐去部分）", "ID number (masked)"),
    ("roster.moved_out", "已迁出", "Moved out"),
    ("roster.current", "在住", "Living here"),
    ("roster.status", "状态", "Status"),
    ("roster.empty", "名册为空。", "The roster is empty."),
    ("roster.none", "没有记录。", "Nothing here."),
    ("roster.back", "返回网格列表", "Back to the grids"),
    ("roster.back_grid", "返回本网格", "Back to the grid"),
    ("roster.upload", "导入名册文件", "Import a roster file"),
    ("roster.file", "名册文件（CSV，UTF-8，不超过 8 MB）", "Roster file (CSV, UTF-8, at most 8 MB)"),
    ("roster.upload_submit", "导入", "Import"),
    (
        "roster.upload_rule",
        "表头：grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes。任何一行有误则整份文件都不导入。",
        "Header: grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes. If any row is wrong, nothing from the file is imported.",
    ),
    ("roster.read_only", "只有管理员和社区工作站可以导入名册。", "Only administrators and the work station may import rosters."),
    ("roster.imported", "名册已导入。", "The roster was imported."),
    ("roster.added", "新增", "Added"),
    ("roster.updated", "更新", "Updated"),
    ("roster.moved", "迁出", "Moved out"),
    ("roster.error_line", "第 {line} 行", "Line {line}"),
    ("roster.error_file", "整个文件", "The whole file"),
    ("roster.too_large", "文件超过 8 MB，未导入。", "The file is over 8 MB; nothing was imported."),
    ("roster.no_file", "请选择要导入的名册文件。", "Choose a roster file to import."),
    ("roster.bad_form", "上传的表单无法读取。", "The uploaded form could not be read."),
];

/// Largest roster file accepted: a community of 10,000 residents is about 1.5 MB.
pub const MAX_ROSTER_BYTES: usize = 8 * 1024 * 1024;
/// The multipart body may exceed the file by this much (boundaries, headers, the CSRF field).
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;
/// Longest text field of the upload form (the CSRF token).
const MAX_FIELD_BYTES: usize = 256;
/// Most fields read from the upload form.
const MAX_FIELDS: usize = 8;

/// The roster routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/roster", get(index))
        .route("/roster/upload", post(upload).layer(DefaultBodyLimit::max(MAX_ROSTER_BYTES + FORM_OVERHEAD_BYTES)))
        .route("/roster/grids/{grid}", get(grid_page))
        .route("/roster/grids/{grid}/special-care", get(special_care_page))
        .route("/roster/households/{code}", get(household_page))
}

/// Admin and station staff may change the roster.
fn refuse_unless_administering(staffer: &Staffer) -> Result<()> {
    if may_administer(staffer.staff.role) {
        return Ok(());
    }
    Err(ServerError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::ForbiddenChange,
        "only admin and station staff import rosters",
    ))
}

/// A grid in the list.
pub struct GridSummary {
    pub grid: String,
    pub households: usize,
    pub residents: usize,
    pub special_care: usize,
}

/// A household in a grid's list.
pub struct HouseholdRow {
    pub code: String,
    pub address: String,
    pub floor: i32,
    pub residents: usize,
    pub tags: usize,
}

/// A resident as these pages show them (phone and ID number masked).
pub struct ResidentRow {
    pub household: String,
    pub name: String,
    pub gender: String,
    pub birth_year: u16,
    pub phone: String,
    pub id_number: String,
    pub tags: String,
    pub moved_out: bool,
}

fn address(h: &Household) -> String {
    format!("{}-{} {}", h.building, h.unit, h.room)
}

fn tag_names(tr: &Tr, settings: &CommunitySettings, tags: &[String]) -> String {
    let names: Vec<&str> = tags
        .iter()
        .map(|t| {
            settings.categories.iter().find(|c| &c.code == t).map_or(t.as_str(), |c| match tr.lang {
                Lang::Zh => c.name_zh.as_str(),
                Lang::En => c.name_en.as_str(),
            })
        })
        .collect();
    names.join("、")
}

fn resident_row(tr: &Tr, settings: &CommunitySettings, r: &Resident) -> ResidentRow {
    ResidentRow {
        household: r.household_code.clone(),
        name: r.name.clone(),
        gender: match r.gender.as_str() {
            "M" => tr.t("roster.male").to_string(),
            "F" => tr.t("roster.female").to_string(),
            other => other.to_string(),
        },
        birth_year: r.birth_year,
        phone: r.phone.as_deref().map(|p| mask(p, Secret::Phone)).unwrap_or_default(),
        id_number: r.id_number.as_deref().map(|i| mask(i, Secret::IdNumber)).unwrap_or_default(),
        tags: tag_names(tr, settings, &r.tags),
        moved_out: r.moved_out,
    }
}

fn checked_code(code: &str) -> Result<()> {
    if valid_code(code) {
        Ok(())
    } else {
        Err(ServerError::not_found(format!("no such code {:?}", code.chars().take(40).collect::<String>())))
    }
}

/// What an upload came to.
pub enum Uploaded {
    /// Imported: the summary.
    Imported(ImportSummary),
    /// Refused: the file's first problem; nothing was applied.
    Refused(RosterError),
}

#[derive(Template)]
#[template(path = "console/roster.html")]
struct RosterPage {
    chrome: Chrome,
    grids: Vec<GridSummary>,
    may_upload: bool,
    imported: Option<ImportSummary>,
    error: Option<String>,
}

fn grids(console: &Console, community_id: &str) -> Result<Vec<GridSummary>> {
    console.replicas.with(community_id, |s| {
        let mut out = Vec::new();
        for grid in s.grid_codes()? {
            out.push(GridSummary {
                households: s.households_in_grid(&grid)?.len(),
                residents: s.residents_in_grid(&grid)?.len(),
                special_care: s.special_care_residents(Some(&grid))?.len(),
                grid,
            });
        }
        Ok(out)
    })
}

async fn roster_page(
    console: &Arc<Console>,
    staffer: &Staffer,
    imported: Option<ImportSummary>,
    error: Option<String>,
) -> Result<RosterPage> {
    let community = staffer.staff.community_id.clone();
    let grids = console.blocking(move |c| grids(c, &community)).await?;
    Ok(RosterPage {
        chrome: Chrome::of(staffer, "roster", "/console/roster"),
        grids,
        may_upload: may_administer(staffer.staff.role),
        imported,
        error,
    })
}

/// `GET /console/roster`: the grids, and the upload form for those who may import.
pub async fn index(State(console): State<Arc<Console>>, staffer: Staffer) -> Response {
    match roster_page(&console, &staffer, None, None).await {
        Ok(p) => render(&p),
        Err(e) => error_page(Chrome::of(&staffer, "roster", "/console/roster"), &e),
    }
}

/// Reads one multipart field, refusing more than `limit` bytes (413).
async fn read_field(field: &mut axum::extract::multipart::Field<'_>, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(form_error)? {
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn too_large() -> ServerError {
    ServerError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::InvalidInput, "the roster file is over 8 MiB")
}

fn form_error(e: axum::extract::multipart::MultipartError) -> ServerError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    ServerError::bad_request(ErrorCode::InvalidInput, format!("upload form: {e}"))
}

/// The CSRF token and the file of the upload form (`None` when no file was chosen).
async fn read_form(mut form: Multipart) -> Result<(String, Option<Vec<u8>>)> {
    let (mut csrf, mut file) = (String::new(), None);
    for _ in 0..MAX_FIELDS {
        let Some(mut field) = form.next_field().await.map_err(form_error)? else { return Ok((csrf, file)) };
        match field.name() {
            Some("csrf") => csrf = String::from_utf8_lossy(&read_field(&mut field, MAX_FIELD_BYTES).await?).into(),
            Some("file") => file = Some(read_field(&mut field, MAX_ROSTER_BYTES).await?).filter(|f| !f.is_empty()),
            _ => {
                read_field(&mut field, MAX_FIELD_BYTES).await?;
            }
        }
    }
    Err(ServerError::bad_request(ErrorCode::InvalidInput, "upload form: too many fields"))
}

/// Imports `bytes` as `staffer`, audits the upload either way, and feeds the replica after an import.
fn import(console: &Console, staffer: &Staffer, bytes: &[u8]) -> Result<Uploaded> {
    let community = &staffer.staff.community_id;
    let storage = console.app.engine.storage();
    match crate::admin::import_roster_checked(&console.app.engine, community, bytes, console.app.clock.now())? {
        Ok(summary) => {
            let detail = serde_json::to_string(&summary).map_err(ServerError::internal)?;
            storage.append_audit(&staffer.audit("roster_upload", &format!("{} bytes", bytes.len()), &detail))?;
            super::replica::feed(console, community)?;
            Ok(Uploaded::Imported(summary))
        }
        Err(refusal) => {
            let detail: String = refusal.to_string().chars().take(300).collect();
            storage.append_audit(&staffer.audit(
                "roster_upload_refused",
                &format!("{} bytes", bytes.len()),
                &detail,
            ))?;
            Ok(Uploaded::Refused(refusal))
        }
    }
}

/// The refusal in words: "第 3 行：…" / "Line 3: …", then that nothing was imported.
fn refusal_words(tr: &Tr, e: &RosterError) -> String {
    let place = match e.line {
        0 => tr.t("roster.error_file").to_string(),
        n => tr.t("roster.error_line").replace("{line}", &n.to_string()),
    };
    let colon = if tr.lang == Lang::Zh { "：" } else { ": " };
    format!("{place}{colon}{} {}", e.reason, tr.error(ErrorCode::RosterInvalid))
}

/// `POST /console/roster/upload` (multipart: `csrf`, `file`).
pub async fn upload(State(console): State<Arc<Console>>, staffer: Staffer, form: Multipart) -> Response {
    let chrome = || Chrome::of(&staffer, "roster", "/console/roster");
    let tr = staffer.tr();
    // The form is read (within its byte limit) before any refusal: an answer sent while the browser is still
    // uploading closes the connection under it, and it would show a network error instead of the refusal.
    let (csrf, file) = match read_form(form).await {
        Ok(read) => read,
        Err(e) => {
            let key = if e.status == StatusCode::PAYLOAD_TOO_LARGE { "roster.too_large" } else { "roster.bad_form" };
            return again(&console, &staffer, e.status, tr.t(key).to_string()).await;
        }
    };
    if let Err(e) = refuse_unless_administering(&staffer) {
        return error_page(chrome(), &e);
    }
    if let Err(e) = staffer.check_csrf(&csrf) {
        return error_page(chrome(), &e);
    }
    let Some(bytes) = file else {
        return again(&console, &staffer, StatusCode::BAD_REQUEST, tr.t("roster.no_file").to_string()).await;
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let chrome = || Chrome::of(&staffer, "roster", "/console/roster");
    match console.blocking(move |c| import(c, &s, &bytes)).await {
        Ok(Uploaded::Imported(summary)) => match roster_page(&console, &staffer, Some(summary), None).await {
            Ok(p) => render(&p),
            Err(e) => error_page(chrome(), &e),
        },
        Ok(Uploaded::Refused(refusal)) => {
            again(&console, &staffer, StatusCode::BAD_REQUEST, refusal_words(&tr, &refusal)).await
        }
        Err(e) => error_page(chrome(), &e),
    }
}

/// The roster page again with an error, answered with `status`.
async fn again(console: &Arc<Console>, staffer: &Staffer, status: StatusCode, error: String) -> Response {
    match roster_page(console, staffer, None, Some(error)).await {
        Ok(p) => (status, render(&p)).into_response(),
        Err(e) => error_page(Chrome::of(staffer, "roster", "/console/roster"), &e),
    }
}

#[derive(Template)]
#[template(path = "console/roster_grid.html")]
struct GridPage {
    chrome: Chrome,
    grid: String,
    households: Vec<HouseholdRow>,
}

fn households_of(console: &Console, community_id: &str, grid: &str) -> Result<Vec<HouseholdRow>> {
    let (households, residents) =
        console.replicas.with(community_id, |s| Ok((s.households_in_grid(grid)?, s.residents_in_grid(grid)?)))?;
    let mut per: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in &residents {
        let e = per.entry(r.household_code.as_str()).or_default();
        e.0 += 1;
        e.1 += r.tags.len();
    }
    Ok(households
        .iter()
        .map(|h| {
            let (residents, tags) = per.get(h.household_code.as_str()).copied().unwrap_or_default();
            HouseholdRow { code: h.household_code.clone(), address: address(h), floor: h.floor, residents, tags }
        })
        .collect())
}

/// `GET /console/roster/grids/{grid}`: the grid's households in walking order.
pub async fn grid_page(State(console): State<Arc<Console>>, staffer: Staffer, Path(grid): Path<String>) -> Response {
    let chrome = Chrome::of(&staffer, "roster", format!("/console/roster/grids/{}", super::page::url_encode(&grid)));
    if let Err(e) = checked_code(&grid) {
        return error_page(chrome, &e);
    }
    let (community, g) = (staffer.staff.community_id.clone(), grid.clone());
    match console.blocking(move |c| households_of(c, &community, &g)).await {
        Ok(households) => render(&GridPage { chrome, grid, households }),
        Err(e) => error_page(chrome, &e),
    }
}

#[derive(Template)]
#[template(path = "console/roster_special.html")]
struct SpecialCarePage {
    chrome: Chrome,
    grid: String,
    residents: Vec<ResidentRow>,
}

/// `GET /console/roster/grids/{grid}/special-care`: the grid's special-care residents.
pub async fn special_care_page(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(grid): Path<String>,
) -> Response {
    let here = format!("/console/roster/grids/{}/special-care", super::page::url_encode(&grid));
    let chrome = Chrome::of(&staffer, "roster", here);
    if let Err(e) = checked_code(&grid) {
        return error_page(chrome, &e);
    }
    let (community, g, tr) = (staffer.staff.community_id.clone(), grid.clone(), staffer.tr());
    let rows = console
        .blocking(move |c| {
            c.replicas.with(&community, |s| {
                let list = s.special_care_residents(Some(&g))?;
                Ok(list.iter().map(|r| resident_row(&tr, s.settings(), r)).collect::<Vec<_>>())
            })
        })
        .await;
    match rows {
        Ok(residents) => render(&SpecialCarePage { chrome, grid, residents }),
        Err(e) => error_page(chrome, &e),
    }
}

#[derive(Template)]
#[template(path = "console/roster_household.html")]
struct HouseholdPage {
    chrome: Chrome,
    household: HouseholdRow,
    grid: String,
    moved_out: bool,
    residents: Vec<ResidentRow>,
}

/// `GET /console/roster/households/{code}`: a household and its residents (moved-out last).
pub async fn household_page(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(code): Path<String>,
) -> Response {
    let chrome =
        Chrome::of(&staffer, "roster", format!("/console/roster/households/{}", super::page::url_encode(&code)));
    if let Err(e) = checked_code(&code) {
        return error_page(chrome, &e);
    }
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    let found = console
        .blocking(move |c| {
            c.replicas.with(&community, |s| {
                let h = s.household_row(&code).map_err(|_| ServerError::not_found(format!("household {code}")))?;
                let residents = s.residents(Some(&code))?;
                let living = residents.iter().filter(|r| !r.moved_out);
                let counts = (living.clone().count(), living.map(|r| r.tags.len()).sum::<usize>());
                let rows: Vec<ResidentRow> = residents.iter().map(|r| resident_row(&tr, s.settings(), r)).collect();
                Ok((h, rows, counts))
            })
        })
        .await;
    match found {
        Ok((h, residents, (current, tags))) => {
            let household = HouseholdRow {
                code: h.household_code.clone(),
                address: address(&h),
                floor: h.floor,
                residents: current,
                tags,
            };
            render(&HouseholdPage { chrome, household, grid: h.grid, moved_out: h.moved_out, residents })
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_its_line_in_the_pages_language() {
        let e = RosterError { line: 3, reason: "gender: expected M or F".into() };
        let zh = refusal_words(&Tr::new(Lang::Zh), &e);
        assert!(zh.starts_with("第 3 行：gender"), "{zh}");
        let en = refusal_words(&Tr::new(Lang::En), &RosterError { line: 0, reason: "empty file".into() });
        assert!(en.starts_with("The whole file: empty file"), "{en}");
    }
}
