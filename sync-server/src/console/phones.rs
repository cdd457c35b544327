//! Phones: issue a one-time enrollment code for a user, role and grids (`enrollment::issue`, the code shown
//! once as text and as a QR code), list the community's enrolled phones (user, role, grids, revoked) and revoke
//! one. Admin and station staff issue and revoke; everyone else reads the list. Each issue and revocation is
//! written to the audit log (never the code itself: only its hash is stored anywhere).
//!
//! The QR code holds `gridline://enroll?server=<this server's address>&code=<code>` (the server part left out
//! when the request named no usable host), so a phone that scans it knows both where and with what to enroll;
//! the same code typed by hand works as well.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::docs::valid_code;
use gridline_core::model::Role;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::chart::accessible;
use super::page::{error_page, local_time, may_administer, render, url_encode, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};
use crate::storage::Device;

/// The phones page's words.
pub const WORDS: super::i18n::Words = &[
    ("phones.title", "手机设备", "Phones"),
    ("phones.issue", "发放登记码", "Issue an enrollment code"),
    ("phones.user", "使用人", "User"),
    ("phones.role", "角色", "Role"),
    ("phones.grids", "负责网格", "Grids"),
    ("phones.more_grids", "其他网格编号（用逗号或空格分隔）", "Other grid codes (separated by commas or spaces)"),
    (
        "phones.grids_rule",
        "网格长、网格员和社工须至少选择一个网格；志愿者不选网格，只收到派给本人的服务单。",
        "Grid leaders, grid workers and social workers need at least one grid; a volunteer takes none and \
         receives only the service orders dispatched to them.",
    ),
    ("phones.buildings", "负责楼栋（楼栋长，用逗号分隔）", "Buildings (building leads; separated by commas)"),
    (
        "phones.bad_buildings",
        "楼栋长须选择一个网格并填写至少一个楼栋；其他角色不填楼栋。",
        "A building lead needs one grid and at least one building; other roles take no building.",
    ),
    ("phones.issue_submit", "生成登记码", "Issue code"),
    (
        "phones.read_only",
        "只有管理员和社区工作站可以发放登记码或停用手机。",
        "Only administrators and the work station may issue codes or revoke phones.",
    ),
    ("phones.code_title", "登记码", "Enrollment code"),
    (
        "phones.code_once",
        "登记码只显示这一次，请现在交给使用人。",
        "The code is shown only this once: give it to the user now.",
    ),
    ("phones.expires", "有效期至", "Valid until"),
    ("phones.qr", "用手机扫描此二维码完成登记", "Scan this QR code with the phone to enroll"),
    ("phones.server", "服务器地址", "Server address"),
    ("phones.devices", "已登记的手机", "Enrolled phones"),
    ("phones.device", "设备编号", "Device"),
    ("phones.status", "状态", "Status"),
    ("phones.active", "使用中", "Active"),
    ("phones.revoked", "已停用", "Revoked"),
    ("phones.revoke", "停用", "Revoke"),
    (
        "phones.revoked_done",
        "手机已停用，它下次同步时会被告知并清除本地数据。",
        "The phone was revoked: it is told so and wipes its data at its next sync.",
    ),
    ("phones.none", "还没有登记的手机。", "No phone is enrolled yet."),
    ("phones.all_grids", "全社区", "Whole community"),
    ("phones.assigned_orders", "派给本人的服务单", "Service orders dispatched to them"),
    ("phones.back", "返回手机列表", "Back to the phones"),
    ("phones.bad_user", "请填写使用人（1 至 100 个字符）。", "Enter the user (1 to 100 characters)."),
    ("phones.bad_role", "该角色不能由您发放。", "You may not issue codes for this role."),
    (
        "phones.bad_grid",
        "网格编号有误：只能用字母、数字、- 和 _，且须选择或填写至少一个网格。",
        "Bad grid codes: letters, digits, - and _ only, and at least one grid is needed.",
    ),
];

/// Grids one code may name at most.
pub const MAX_CODE_GRIDS: usize = 50;
/// Form fields read at most from the issue form.
const MAX_FORM_FIELDS: usize = 200;
/// Phones listed at most.
pub const MAX_LISTED: usize = 2_000;

/// The phones routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/phones", get(page))
        .route("/phones/enroll", post(issue))
        .route("/phones/{device_id}/revoke", post(revoke))
}

/// The roles `by` may issue codes for: admin staff any phone or console role but admin; station staff the
/// field roles, volunteers (the station runs the volunteer service) and the station's own.
pub fn issuable_roles(by: Role) -> &'static [Role] {
    match by {
        Role::Admin => &[
            Role::GridLeader,
            Role::GridWorker,
            Role::SocialWorker,
            Role::BuildingLead,
            Role::Committee,
            Role::Station,
            Role::Street,
            Role::Volunteer,
        ],
        Role::Station => &[
            Role::GridLeader,
            Role::GridWorker,
            Role::SocialWorker,
            Role::BuildingLead,
            Role::Station,
            Role::Volunteer,
        ],
        _ => &[],
    }
}

/// What a phone of `role` enrolled for `grids` reaches, in words: its grids, the whole community, or (a
/// volunteer) the service orders dispatched to it.
fn reach(tr: &super::i18n::Tr, role: Role, grids: &[String], buildings: &[String]) -> String {
    match (role, grids.is_empty()) {
        (Role::Volunteer, _) => tr.t("phones.assigned_orders").to_string(),
        (Role::BuildingLead, _) => format!("{} {}", grids.join("、"), buildings.join("、")),
        (_, true) => tr.t("phones.all_grids").to_string(),
        (_, false) => grids.join("、"),
    }
}

fn forbidden() -> ServerError {
    ServerError::new(StatusCode::FORBIDDEN, ErrorCode::ForbiddenChange, "only admin and station staff manage phones")
}

/// A phone as listed.
pub struct PhoneRow {
    pub device_id: String,
    pub short_id: String,
    pub user: String,
    pub role: String,
    pub grids: String,
    pub revoked: bool,
}

/// The community's phones: its device rows less the console accounts' own (each account is a device row too).
fn phones(console: &Console, community_id: &str) -> Result<Vec<Device>> {
    let storage = console.app.engine.storage();
    let staff: BTreeSet<String> = storage.staff_list(Some(community_id))?.into_iter().map(|s| s.staff_id).collect();
    let mut out: Vec<Device> = storage
        .devices()?
        .into_iter()
        .filter(|d| d.community_id == community_id && !staff.contains(&d.device_id))
        .collect();
    // Newest first (ids are UUID v7), bounded.
    out.reverse();
    out.truncate(MAX_LISTED);
    Ok(out)
}

#[derive(Template)]
#[template(path = "console/phones.html")]
struct PhonesPage {
    chrome: Chrome,
    rows: Vec<PhoneRow>,
    may_manage: bool,
    roles: Vec<(&'static str, &'static str)>,
    grids: Vec<String>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct PhonesQuery {
    #[serde(default)]
    revoked: Option<String>,
}

async fn phones_page(console: &Arc<Console>, staffer: &Staffer, error: Option<String>) -> Result<PhonesPage> {
    let community = staffer.staff.community_id.clone();
    let (devices, grids) = console
        .blocking(move |c| {
            let grids = c.replicas.with(&community, |s| Ok(s.grid_codes()?))?;
            Ok((phones(c, &community)?, grids))
        })
        .await?;
    let tr = staffer.tr();
    let rows = devices
        .into_iter()
        .map(|d| PhoneRow {
            short_id: d.device_id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect(),
            grids: reach(&tr, d.role, &d.grids, &d.buildings),
            user: d.user,
            role: tr.role(&d.role).to_string(),
            revoked: d.revoked,
            device_id: d.device_id,
        })
        .collect();
    let roles = issuable_roles(staffer.staff.role).iter().map(|r| (r.code(), tr.role(r))).collect();
    Ok(PhonesPage {
        chrome: Chrome::of(staffer, "phones", "/console/phones"),
        rows,
        may_manage: may_administer(staffer.staff.role),
        roles,
        grids,
        message: None,
        error,
    })
}

/// `GET /console/phones`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<PhonesQuery>) -> Response {
    match phones_page(&console, &staffer, None).await {
        Ok(mut p) => {
            if q.revoked.is_some() {
                p.message = Some(p.chrome.tr.t("phones.revoked_done").to_string());
            }
            render(&p)
        }
        Err(e) => error_page(Chrome::of(&staffer, "phones", "/console/phones"), &e),
    }
}

/// The issue form, as read.
struct IssueForm {
    csrf: String,
    user: String,
    role: Role,
    grids: Vec<String>,
    buildings: Vec<String>,
}

/// Reads and checks the issue form; the error is the key of its words.
fn read_issue_form(by: Role, pairs: Vec<(String, String)>) -> std::result::Result<IssueForm, (String, &'static str)> {
    let (mut csrf, mut user, mut role, mut grids) = (String::new(), String::new(), String::new(), Vec::new());
    let mut buildings: Vec<String> = Vec::new();
    for (k, v) in pairs.into_iter().take(MAX_FORM_FIELDS) {
        match k.as_str() {
            "csrf" => csrf = v,
            "user" => user = v.trim().to_string(),
            "role" => role = v,
            "grid" => grids.push(v.trim().to_string()),
            "more_grids" => grids.extend(
                v.split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
                    .filter(|g| !g.is_empty())
                    .map(str::to_string),
            ),
            "buildings" => buildings
                .extend(v.split([',', '，', '、']).map(str::trim).filter(|b| !b.is_empty()).map(str::to_string)),
            _ => {}
        }
    }
    if user.is_empty() || user.chars().count() > 100 || user.chars().any(char::is_control) {
        return Err((csrf, "phones.bad_user"));
    }
    let role = match role.parse::<Role>() {
        Ok(r) if issuable_roles(by).contains(&r) => r,
        _ => return Err((csrf, "phones.bad_role")),
    };
    grids.retain(|g| !g.is_empty());
    grids.sort();
    grids.dedup();
    let bad = grids.len() > MAX_CODE_GRIDS || grids.iter().any(|g| !valid_code(g));
    if bad || (role.is_grid_scoped() && grids.is_empty()) {
        return Err((csrf, "phones.bad_grid"));
    }
    if !role.is_grid_scoped() {
        grids.clear();
    }
    buildings.dedup();
    if gridline_core::store::check_buildings(role, &grids, &buildings).is_err() {
        return Err((csrf, "phones.bad_buildings"));
    }
    Ok(IssueForm { csrf, user, role, grids, buildings })
}

/// This server's address as the browser reached it, when the `Host` header names one plainly.
fn origin(headers: &HeaderMap, secure: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = host.len() <= 255
        && !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then(|| format!("{}://{host}", if secure { "https" } else { "http" }))
}

/// What the phone scans: the code, and where to enroll with it.
pub fn enroll_uri(server: Option<&str>, code: &str) -> String {
    match server {
        Some(s) => format!("gridline://enroll?server={}&code={}", url_encode(s), url_encode(code)),
        None => format!("gridline://enroll?code={}", url_encode(code)),
    }
}

/// A QR code of `text` as an inline, labelled `<svg>`.
pub fn qr_svg(text: &str, title: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ServerError::internal(format!("qr code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    let start = svg.find("<svg").unwrap_or(0);
    Ok(accessible(&svg[start..], title))
}

#[derive(Template)]
#[template(path = "console/phones_code.html")]
struct CodePage {
    chrome: Chrome,
    code: String,
    expires: String,
    user: String,
    role: String,
    grids: String,
    server: String,
    qr: String,
}

/// `POST /console/phones/enroll`: issues a code and shows it once.
pub async fn issue(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let chrome = Chrome::of(&staffer, "phones", "/console/phones");
    if !may_administer(staffer.staff.role) {
        return error_page(chrome, &forbidden());
    }
    let tr = staffer.tr();
    let form = match read_issue_form(staffer.staff.role, pairs) {
        Ok(form) => form,
        Err((csrf, key)) => {
            if let Err(e) = staffer.check_csrf(&csrf) {
                return error_page(chrome, &e);
            }
            return match phones_page(&console, &staffer, Some(tr.t(key).to_string())).await {
                Ok(p) => (StatusCode::BAD_REQUEST, render(&p)).into_response(),
                Err(e) => error_page(chrome, &e),
            };
        }
    };
    if let Err(e) = staffer.check_csrf(&form.csrf) {
        return error_page(chrome, &e);
    }
    let server = origin(&headers, console.secure_cookies);
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let (user, role, grids, buildings) = (form.user.clone(), form.role, form.grids.clone(), form.buildings.clone());
    let issued = console
        .blocking(move |c| {
            let storage = c.app.engine.storage();
            let now = c.app.clock.now();
            let community = &s.staff.community_id;
            let issued =
                crate::enrollment::issue_for_buildings(storage, community, &user, role, &grids, &buildings, now)?;
            let detail = format!("{} {} {}", role.code(), grids.join(","), buildings.join(","));
            storage.append_audit(&s.audit("enroll_issue", &user, detail.trim()))?;
            let tz = c.replicas.with(&s.staff.community_id, |store| Ok(store.settings().tz()))?;
            Ok((issued, tz))
        })
        .await;
    let (issued, tz) = match issued {
        Ok(done) => done,
        Err(e) => return error_page(chrome, &e),
    };
    let expires = chrono::DateTime::parse_from_rfc3339(&issued.expires_at)
        .map(|t| local_time(&t, &tz))
        .unwrap_or_else(|_| issued.expires_at.clone());
    let qr = match qr_svg(&enroll_uri(server.as_deref(), &issued.code), tr.t("phones.qr")) {
        Ok(svg) => svg,
        Err(e) => return error_page(chrome, &e),
    };
    render(&CodePage {
        chrome,
        code: issued.code,
        expires,
        grids: reach(&tr, form.role, &form.grids, &form.buildings),
        user: form.user,
        role: tr.role(&form.role).to_string(),
        server: server.unwrap_or_default(),
        qr,
    })
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/phones/{device_id}/revoke`: revokes a phone of this community (not a console account).
pub async fn revoke(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(device_id): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let chrome = Chrome::of(&staffer, "phones", "/console/phones");
    if !may_administer(staffer.staff.role) {
        return error_page(chrome, &forbidden());
    }
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    if uuid::Uuid::parse_str(&device_id).is_err() {
        return error_page(chrome, &ServerError::not_found("no such phone"));
    }
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let done = console
        .blocking(move |c| {
            let community = &s.staff.community_id;
            let storage = c.app.engine.storage();
            let ours = storage.device(&device_id)?.filter(|d| &d.community_id == community);
            let is_account = storage.staff(&device_id)?.is_some();
            let Some(device) = ours.filter(|_| !is_account) else {
                return Err(ServerError::not_found("no such phone in this community"));
            };
            crate::admin::revoke_device(&c.app.engine, &device_id)?;
            let detail = format!("{} {}", device.user, device.role.code());
            storage.append_audit(&s.audit("device_revoke", &device_id, &detail))?;
            Ok(())
        })
        .await;
    match done {
        Ok(()) => Redirect::to("/console/phones?revoked=1").into_response(),
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_issue_form_is_checked() {
        let ok = read_issue_form(
            Role::Station,
            pairs(&[
                ("csrf", "t"),
                ("user", " 王 "),
                ("role", "grid_leader"),
                ("grid", "G02"),
                ("more_grids", "G01，G02 G03"),
            ]),
        )
        .map_err(|(_, k)| k)
        .expect("valid");
        assert_eq!(
            (ok.user.as_str(), ok.role, ok.grids.as_slice()),
            ("王", Role::GridLeader, &["G01".to_string(), "G02".into(), "G03".into()][..])
        );
        let err = |list: &[(&str, &str)], by: Role| read_issue_form(by, pairs(list)).err().map(|(_, k)| k);
        assert_eq!(err(&[("user", "王"), ("role", "grid_leader")], Role::Station), Some("phones.bad_grid"));
        assert_eq!(err(&[("user", "王"), ("role", "committee")], Role::Station), Some("phones.bad_role"));
        assert_eq!(err(&[("user", "王"), ("role", "admin")], Role::Admin), Some("phones.bad_role"));
        assert_eq!(err(&[("user", ""), ("role", "station")], Role::Admin), Some("phones.bad_user"));
        assert_eq!(
            err(&[("user", "王"), ("role", "grid_worker"), ("grid", "G 1")], Role::Admin),
            Some("phones.bad_grid")
        );
        let wide = read_issue_form(Role::Admin, pairs(&[("user", "李"), ("role", "committee"), ("grid", "G01")]));
        assert!(wide.is_ok_and(|f| f.grids.is_empty()), "a community-wide role holds no grids");
    }

    #[test]
    fn the_qr_code_carries_the_server_and_the_code() {
        let uri = enroll_uri(Some("http://127.0.0.1:8080"), "7Q2M-XK4P-91ZD");
        assert_eq!(uri, "gridline://enroll?server=http%3A%2F%2F127.0.0.1%3A8080&code=7Q2M-XK4P-91ZD");
        let svg = qr_svg(&uri, "扫码登记").expect("svg");
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"扫码登记\""), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("<title>扫码登记</title>"));
    }

    #[test]
    fn only_a_plain_host_makes_the_origin() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "gridline.example:8443".parse().expect("header"));
        assert_eq!(origin(&h, true).as_deref(), Some("https://gridline.example:8443"));
        h.insert(header::HOST, "evil\"><script>".parse().expect("header"));
        assert_eq!(origin(&h, false), None);
    }
}
