//! Sign-in, sign-out, the first-admin setup link and the language toggle.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::page::{render, Chrome};
use super::session::{self, lang_of, set_cookie, Staffer, Throttle, LANG_COOKIE, SESSION_COOKIE};
use super::Console;
use crate::access::hash_secret;
use crate::error::{Result, ServerError};
use crate::storage::{AuditEntry, Community, Staff};

/// The sign-in, setup and language routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/login", get(form).post(submit))
        .route("/logout", post(logout))
        .route("/setup", get(setup_form).post(setup_submit))
        .route("/lang", get(switch_language))
}

/// How long a sign-in waits for its turn at the password check before it is answered 429.
const PASSWORD_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long the first-admin setup link works.
pub const SETUP_LINK_SECS: i64 = 24 * 3600;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    chrome: Chrome,
    message: Option<String>,
    user: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

/// `GET /console/login`.
pub async fn form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let chrome = Chrome::anonymous(lang_of(&headers), "/console/login");
    let message = q.expired.map(|_| chrome.tr.t("login.expired").to_string());
    render(&LoginPage { chrome, message, user: String::new() })
}

#[derive(Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
}

fn audit_entry(community_id: &str, user: &str, action: &str, address: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: chrono::Utc::now().timestamp(),
        community_id: community_id.to_string(),
        user: user.chars().take(64).collect(),
        action: action.to_string(),
        target: String::new(),
        detail: String::new(),
        address: address.to_string(),
    }
}

/// What a sign-in attempt came to.
enum SignIn {
    Ok(Staff),
    Wrong,
    Throttled,
}

/// `POST /console/login`: argon2id verification (against a decoy hash when the account does not exist, so a
/// wrong name costs the same), throttled per account and per address, audited either way.
pub async fn submit(
    State(console): State<Arc<Console>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    let address = session::client_address(Some(peer), &headers);
    let user = f.user.trim().to_string();
    let (u, a) = (user.clone(), address.clone());
    // One password check at a time, waited for briefly: argon2 takes a core and 19 MiB for tens of
    // milliseconds, and a flood of sign-ins must not take the blocking threads the phones' syncs run on.
    let Ok(Ok(_permit)) = tokio::time::timeout(PASSWORD_CHECK_WAIT, console.password_checks.acquire()).await else {
        let chrome = Chrome::anonymous(lang, "/console/login");
        let message = Some(chrome.tr.t("login.throttled").to_string());
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "2")],
            render(&LoginPage { chrome, message, user }),
        )
            .into_response();
    };
    let outcome = console
        .blocking(move |c| {
            let (storage, now) = (c.app.engine.storage(), c.app.clock.now().timestamp());
            if Throttle::blocked(storage, &u, &a, now)? {
                c.app.engine.storage().append_audit(&audit_entry("", &u, "sign_in_throttled", &a))?;
                return Ok(SignIn::Throttled);
            }
            let found = if u.chars().count() <= 64 { c.app.engine.storage().staff_by_user(&u)? } else { None };
            let (staff, hash) = match &found {
                Some((s, h)) => (Some(s), h.as_str()),
                None => (None, crate::staff::decoy_hash()),
            };
            let valid = crate::staff::verify_password(&f.password, hash);
            match staff.filter(|s| valid && !s.disabled) {
                Some(s) => {
                    Throttle::succeeded(storage, &u)?;
                    c.app.engine.storage().append_audit(&audit_entry(&s.community_id, &u, "sign_in", &a))?;
                    Ok(SignIn::Ok(s.clone()))
                }
                None => {
                    Throttle::failed(storage, &u, &a, now)?;
                    let community = staff.map(|s| s.community_id.as_str()).unwrap_or_default();
                    c.app.engine.storage().append_audit(&audit_entry(community, &u, "sign_in_failed", &a))?;
                    Ok(SignIn::Wrong)
                }
            }
        })
        .await;
    let chrome = Chrome::anonymous(lang, "/console/login");
    let (status, key) = match outcome {
        Ok(SignIn::Ok(staff)) => return signed_in(&console, &staff).await,
        Ok(SignIn::Wrong) => (StatusCode::UNAUTHORIZED, "login.failed"),
        Ok(SignIn::Throttled) => (StatusCode::TOO_MANY_REQUESTS, "login.throttled"),
        Err(e) => return e.into_response(),
    };
    let message = Some(chrome.tr.t(key).to_string());
    (status, render(&LoginPage { chrome, message, user })).into_response()
}

/// Starts a session and goes to the queue.
async fn signed_in(console: &Arc<Console>, staff: &Staff) -> Response {
    let staff = staff.clone();
    match console.blocking(move |c| session::start(c, &staff)).await {
        Ok(token) => {
            let cookie = set_cookie(SESSION_COOKIE, &token, None, true, console.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/console/queue")).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`.
pub async fn logout(State(console): State<Arc<Console>>, staffer: Staffer, Form(f): Form<CsrfForm>) -> Response {
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return e.into_response();
    }
    let token_hash = staffer.session.token_hash.clone();
    let entry = staffer.audit("sign_out", "", "");
    let done = console
        .blocking(move |c| {
            c.app.engine.storage().delete_session(&token_hash)?;
            c.app.engine.storage().append_audit(&entry)
        })
        .await;
    if let Err(e) = done {
        return e.into_response();
    }
    let cookie = set_cookie(SESSION_COOKIE, "", Some(0), true, console.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/console/login")).into_response()
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    communities: Vec<Community>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

/// Prints the first-admin setup link when the server has no staff account yet (a new data directory):
/// a one-time token, valid [`SETUP_LINK_SECS`], whose hash only is stored.
pub fn announce_setup_link(console: &Console, base_url: &str) -> Result<Option<String>> {
    let storage = console.app.engine.storage();
    if storage.staff_count()? > 0 {
        return Ok(None);
    }
    let token = crate::access::new_token()?;
    storage.put_setup_token(&hash_secret(&token), console.app.clock.now().timestamp() + SETUP_LINK_SECS)?;
    Ok(Some(format!("{base_url}/console/setup?token={token}")))
}

/// `GET /console/setup?token=…`.
pub async fn setup_form(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Response {
    let lang = lang_of(&headers);
    let token = q.token.chars().take(128).collect::<String>();
    let t = token.clone();
    let state = console
        .blocking(move |c| {
            let now = c.app.clock.now().timestamp();
            let valid = c.app.engine.storage().setup_token_valid(&hash_secret(&t), now)?;
            Ok((valid, c.app.engine.storage().communities()?))
        })
        .await;
    let chrome = Chrome::anonymous(lang, "/console/setup");
    match state {
        Ok((true, communities)) => render(&SetupPage { chrome, token, communities, message: None }),
        Ok((false, _)) => {
            let message = Some(chrome.tr.t("setup.invalid").to_string());
            (StatusCode::FORBIDDEN, render(&SetupPage { chrome, token: String::new(), communities: vec![], message }))
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    community_name: String,
    #[serde(default)]
    timezone: String,
    user: String,
    password: String,
}

/// `POST /console/setup`: uses the link up, creates the community when none is chosen, and the first admin.
pub async fn setup_submit(
    State(console): State<Arc<Console>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SetupForm>,
) -> Response {
    let lang = lang_of(&headers);
    let address = session::client_address(Some(peer), &headers);
    let created = console
        .blocking(move |c| {
            crate::staff::check_password(&f.password)?;
            let storage = c.app.engine.storage();
            let now = c.app.clock.now().timestamp();
            if !storage.take_setup_token(&hash_secret(&f.token), now)? {
                return Err(ServerError::new(
                    StatusCode::FORBIDDEN,
                    gridline_core::ErrorCode::Unauthorized,
                    "the setup link is invalid, used or expired",
                ));
            }
            let community_id = if f.community_id.is_empty() {
                let tz =
                    if f.timezone.is_empty() { gridline_core::model::DEFAULT_TIME_ZONE } else { f.timezone.as_str() };
                let made = crate::admin::create_community(&c.app.engine, &f.community_name, tz)?;
                made["community_id"].as_str().unwrap_or_default().to_string()
            } else {
                f.community_id.clone()
            };
            let added = crate::staff::add(storage, &community_id, &f.user, "admin", &f.password, now)?;
            let staff_id = added["staff_id"].as_str().unwrap_or_default().to_string();
            let staff = storage.staff(&staff_id)?.ok_or_else(|| ServerError::internal("the new account is missing"))?;
            storage.append_audit(&audit_entry(&community_id, &staff.user, "setup_admin", &address))?;
            Ok(staff)
        })
        .await;
    match created {
        Ok(staff) => signed_in(&console, &staff).await,
        Err(e) => {
            let chrome = Chrome::anonymous(lang, "/console/setup");
            let message = Some(format!("{} ({})", chrome.tr.error(e.code), e.message));
            (e.status, render(&SetupPage { chrome, token: String::new(), communities: vec![], message }))
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /console/lang?to=en|zh&back=PATH`: sets the language cookie and goes back (only to a console path).
pub async fn switch_language(State(console): State<Arc<Console>>, Query(q): Query<LangQuery>) -> Response {
    let lang = if q.to == "en" { "en" } else { "zh" };
    let back =
        if q.back.starts_with("/console/") && !q.back.contains("//") { q.back.as_str() } else { "/console/queue" };
    let cookie = set_cookie(LANG_COOKIE, lang, Some(365 * 24 * 3600), false, console.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to(back)).into_response()
}
