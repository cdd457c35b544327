//! The admin pages, for the admin role only (anyone else is answered 403): the community's staff accounts
//! (listed, added with a role and a password, disabled) through `crate::staff`, the same functions as
//! `admin staff …`; and the audit log, newest first, paged back with `before`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::model::Role;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::i18n::{Tr, Words};
use super::page::{error_page, render, Chrome};
use super::session::{CsrfForm, Staffer};
use super::Console;
use crate::error::{Result, ServerError};
use crate::staff::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, STAFF_ROLES};
use crate::storage::{AuditEntry, Staff};

/// The admin routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/admin", get(staff_page))
        .route("/admin/staff", post(add_staff).layer(DefaultBodyLimit::max(BODY_LIMIT)))
        .route("/admin/staff/{staff_id}/disable", post(disable_staff))
        .route("/admin/audit", get(audit_page))
}

/// Audit entries per page.
pub const AUDIT_PAGE: usize = 50;
const BODY_LIMIT: usize = 8 * 1024;

/// The words of the admin pages.
pub const WORDS: Words = &[
    ("admin.title", "管理", "Administration"),
    ("admin.staff", "工作人员账号", "Staff accounts"),
    ("admin.audit", "操作日志", "Audit log"),
    ("admin.responses", "常用回复", "Response templates"),
    ("admin.user", "用户名", "User name"),
    ("admin.role", "角色", "Role"),
    ("admin.status", "状态", "Status"),
    ("admin.created", "创建时间", "Created"),
    ("admin.enabled", "启用", "Enabled"),
    ("admin.disabled", "已停用", "Disabled"),
    ("admin.disable", "停用", "Disable"),
    ("admin.you", "（本人）", "(you)"),
    ("admin.add", "新增账号", "Add an account"),
    ("admin.password", "初始密码", "Initial password"),
    ("admin.password_rule", "密码需 10 到 256 个字符。", "A password of 10 to 256 characters is required."),
    ("admin.user_rule", "用户名需 1 到 64 个字符。", "A user name of 1 to 64 characters is required."),
    ("admin.role_rule", "请选择工作台角色。", "Choose a console role."),
    ("admin.user_taken", "该用户名已有账号。", "That user name already has an account."),
    ("admin.not_self", "不能停用自己的账号。", "You cannot disable your own account."),
    ("admin.added", "账号已创建。", "Account created."),
    ("admin.was_disabled", "账号已停用，其登录已结束。", "Account disabled; its sessions have ended."),
    ("admin.at", "时间", "Time"),
    ("admin.action", "操作", "Action"),
    ("admin.target", "对象", "Target"),
    ("admin.detail", "详情", "Detail"),
    ("admin.address", "地址", "Address"),
    ("admin.older", "更早", "Older"),
    ("admin.newest", "最新", "Newest"),
    ("admin.no_entries", "没有更多记录。", "No more entries."),
];

/// 403 for anyone but an admin.
pub fn forbidden() -> ServerError {
    ServerError::new(StatusCode::FORBIDDEN, ErrorCode::ForbiddenDocument, "only an administrator may do this")
}

/// Refuses anyone but an admin (403).
pub fn require_admin(staffer: &Staffer) -> Result<()> {
    if staffer.staff.role != Role::Admin {
        return Err(forbidden());
    }
    Ok(())
}

/// One account as listed.
pub struct StaffRow {
    pub staff_id: String,
    pub user: String,
    pub role: String,
    pub disabled: bool,
    pub created: String,
    pub me: bool,
}

#[derive(Template)]
#[template(path = "console/admin_staff.html")]
struct StaffPage {
    chrome: Chrome,
    rows: Vec<StaffRow>,
    roles: Vec<(&'static str, &'static str)>,
    message: Option<String>,
    error: Option<String>,
    user: String,
    role: String,
}

#[derive(Deserialize)]
pub struct StaffQuery {
    #[serde(default)]
    done: String,
}

/// The community's time zone (for the times shown).
fn community_zone(console: &Console, community_id: &str) -> Result<chrono_tz::Tz> {
    console.replicas.with(community_id, |store| Ok(store.settings().tz()))
}

fn at_local(unix: i64, tz: &chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| super::page::local_time(&t.fixed_offset(), tz))
        .unwrap_or_else(|| unix.to_string())
}

fn staff_rows(console: &Console, me: &Staff, tr: Tr) -> Result<Vec<StaffRow>> {
    let tz = community_zone(console, &me.community_id)?;
    Ok(console
        .app
        .engine
        .storage()
        .staff_list(Some(&me.community_id))?
        .into_iter()
        .map(|s| StaffRow {
            me: s.staff_id == me.staff_id,
            role: tr.role(&s.role).to_string(),
            created: at_local(s.created_at, &tz),
            staff_id: s.staff_id,
            user: s.user,
            disabled: s.disabled,
        })
        .collect())
}

fn roles(tr: Tr) -> Vec<(&'static str, &'static str)> {
    STAFF_ROLES.iter().map(|r| (r.code(), tr.role(r))).collect()
}

/// Renders the staff page, with a message or an error.
async fn staff_view(
    console: &Arc<Console>,
    staffer: &Staffer,
    status: StatusCode,
    message: Option<String>,
    error: Option<String>,
    filled: (String, String),
) -> Response {
    let chrome = Chrome::of(staffer, "admin", "/console/admin");
    let (me, tr) = (staffer.staff.clone(), staffer.tr());
    match console.blocking(move |c| staff_rows(c, &me, tr)).await {
        Ok(rows) => {
            let roles = roles(tr);
            let page = StaffPage { chrome, rows, roles, message, error, user: filled.0, role: filled.1 };
            (status, render(&page)).into_response()
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// `GET /console/admin`: the community's staff accounts.
pub async fn staff_page(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Query(q): Query<StaffQuery>,
) -> Response {
    if let Err(e) = require_admin(&staffer) {
        return error_page(Chrome::of(&staffer, "admin", "/console/admin"), &e);
    }
    let tr = staffer.tr();
    let message = match q.done.as_str() {
        "added" => Some(tr.t("admin.added").to_string()),
        "disabled" => Some(tr.t("admin.was_disabled").to_string()),
        _ => None,
    };
    staff_view(&console, &staffer, StatusCode::OK, message, None, Default::default()).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// Why an account is not added: the key of its words.
type Refusal = &'static str;

/// Checks a new account's fields before anything is hashed or stored.
fn check_account(user: &str, role: &str, password: &str) -> std::result::Result<(String, Role), Refusal> {
    let role = role.parse::<Role>().ok().filter(|r| STAFF_ROLES.contains(r)).ok_or("admin.role_rule")?;
    let user = user.trim();
    if user.is_empty() || user.chars().count() > 64 || user.chars().any(char::is_control) {
        return Err("admin.user_rule");
    }
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&password.chars().count()) {
        return Err("admin.password_rule");
    }
    Ok((user.to_string(), role))
}

/// `POST /console/admin/staff`: adds an account to the admin's community.
pub async fn add_staff(State(console): State<Arc<Console>>, staffer: Staffer, Form(f): Form<AddForm>) -> Response {
    let chrome = Chrome::of(&staffer, "admin", "/console/admin");
    if let Err(e) = require_admin(&staffer).and_then(|()| staffer.check_csrf(&f.csrf)) {
        return error_page(chrome, &e);
    }
    let filled = (f.user.chars().take(64).collect::<String>(), f.role.chars().take(16).collect::<String>());
    let (user, role) = match check_account(&f.user, &f.role, &f.password) {
        Ok(v) => v,
        Err(key) => {
            let error = Some(chrome.tr.t(key).to_string());
            return staff_view(&console, &staffer, StatusCode::BAD_REQUEST, None, error, filled).await;
        }
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let added = console
        .blocking(move |c| {
            let storage = c.app.engine.storage();
            if storage.staff_by_user(&user)?.is_some() {
                return Ok(false);
            }
            let now = c.app.clock.now().timestamp();
            let made = crate::staff::add(storage, &s.staff.community_id, &user, role.code(), &f.password, now)?;
            let staff_id = made["staff_id"].as_str().unwrap_or_default();
            storage.append_audit(&s.audit("staff_add", staff_id, &format!("{user} {}", role.code())))?;
            Ok(true)
        })
        .await;
    match added {
        Ok(true) => Redirect::to("/console/admin?done=added").into_response(),
        Ok(false) => {
            let error = Some(staffer.tr().t("admin.user_taken").to_string());
            staff_view(&console, &staffer, StatusCode::CONFLICT, None, error, filled).await
        }
        Err(e) => {
            let error = Some(format!("{} ({})", staffer.tr().error(e.code), e.code.code()));
            staff_view(&console, &staffer, e.status, None, error, filled).await
        }
    }
}

/// What disabling came to.
enum Disabled {
    Done,
    Yourself,
}

/// `POST /console/admin/staff/{id}/disable`: an account of the admin's community, never the admin's own.
pub async fn disable_staff(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(staff_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let chrome = Chrome::of(&staffer, "admin", "/console/admin");
    if let Err(e) = require_admin(&staffer).and_then(|()| staffer.check_csrf(&f.csrf)) {
        return error_page(chrome, &e);
    }
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let done = console
        .blocking(move |c| {
            let storage = c.app.engine.storage();
            let target = storage
                .staff(&staff_id)?
                .filter(|t| t.community_id == s.staff.community_id)
                .ok_or_else(|| ServerError::not_found(format!("no account {staff_id:?} in this community")))?;
            if target.staff_id == s.staff.staff_id {
                return Ok(Disabled::Yourself);
            }
            crate::staff::disable(storage, &target.user)?;
            storage.append_audit(&s.audit("staff_disable", &target.staff_id, &target.user))?;
            Ok(Disabled::Done)
        })
        .await;
    match done {
        Ok(Disabled::Done) => Redirect::to("/console/admin?done=disabled").into_response(),
        Ok(Disabled::Yourself) => {
            let error = Some(staffer.tr().t("admin.not_self").to_string());
            staff_view(&console, &staffer, StatusCode::CONFLICT, None, error, Default::default()).await
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// One audit entry as shown.
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "console/admin_audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    older: Option<i64>,
    paged: bool,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
}

fn audit_rows(console: &Console, community_id: &str, before: Option<i64>) -> Result<Vec<AuditRow>> {
    let tz = community_zone(console, community_id)?;
    let entries: Vec<AuditEntry> = console.app.engine.storage().audit(community_id, before, AUDIT_PAGE)?;
    Ok(entries
        .into_iter()
        .map(|e| AuditRow {
            id: e.id,
            at: at_local(e.at, &tz),
            user: e.user,
            action: e.action,
            target: e.target,
            detail: e.detail,
            address: e.address,
        })
        .collect())
}

/// `GET /console/admin/audit?before=ID`: the audit log, newest first, [`AUDIT_PAGE`] entries a page.
pub async fn audit_page(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Query(q): Query<AuditQuery>,
) -> Response {
    let here = match q.before {
        Some(b) => format!("/console/admin/audit?before={b}"),
        None => "/console/admin/audit".to_string(),
    };
    let chrome = Chrome::of(&staffer, "admin", here);
    if let Err(e) = require_admin(&staffer) {
        return error_page(chrome, &e);
    }
    let before = q.before.filter(|b| *b > 0);
    let community = staffer.staff.community_id.clone();
    match console.blocking(move |c| audit_rows(c, &community, before)).await {
        Ok(rows) => {
            let older = (rows.len() == AUDIT_PAGE).then(|| rows.last().map(|r| r.id)).flatten();
            render(&AuditPage { chrome, rows, older, paged: before.is_some() })
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_account_is_checked_before_it_is_hashed() {
        assert_eq!(check_account(" 王站长 ", "station", "long enough pw"), Ok(("王站长".into(), Role::Station)));
        assert_eq!(check_account("x", "grid_leader", "long enough pw"), Err("admin.role_rule"));
        assert_eq!(check_account("x", "owner", "long enough pw"), Err("admin.role_rule"));
        assert_eq!(check_account("  ", "admin", "long enough pw"), Err("admin.user_rule"));
        assert_eq!(check_account(&"名".repeat(65), "admin", "long enough pw"), Err("admin.user_rule"));
        assert_eq!(check_account("x", "admin", "short"), Err("admin.password_rule"));
        assert_eq!(check_account("x", "admin", &"p".repeat(257)), Err("admin.password_rule"));
        for key in ["admin.role_rule", "admin.user_rule", "admin.password_rule"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }
}
