//! What every console page shares: the chrome (navigation, the signed-in account, the CSRF token, the
//! language toggle), rendering, local times, and the error page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use gridline_core::model::Role;
use gridline_core::schedule::Month;
use gridline_core::ErrorCode;

use super::i18n::{Lang, Tr};
use super::session::Staffer;
use crate::error::ServerError;

/// The page chrome.
pub struct Chrome {
    /// Words.
    pub tr: Tr,
    /// Signed-in user ("" on the sign-in pages).
    pub user: String,
    /// Their role's name.
    pub role: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// Which navigation entry is current.
    pub nav: &'static str,
    /// Whether the admin entries show.
    pub admin: bool,
    /// Whether the community's configuration entry shows (admin and station staff).
    pub configures: bool,
    /// The page's own path and query (the language toggle comes back to it).
    pub here: String,
}

impl Chrome {
    /// The chrome of a signed-in page.
    pub fn of(s: &Staffer, nav: &'static str, here: impl Into<String>) -> Chrome {
        let tr = s.tr();
        Chrome {
            tr,
            user: s.staff.user.clone(),
            role: tr.role(&s.staff.role).to_string(),
            csrf: s.session.csrf.clone(),
            nav,
            admin: s.staff.role == Role::Admin,
            configures: may_administer(s.staff.role),
            here: here.into(),
        }
    }

    /// The chrome of a page before sign-in.
    pub fn anonymous(lang: Lang, here: impl Into<String>) -> Chrome {
        Chrome {
            tr: Tr::new(lang),
            user: String::new(),
            role: String::new(),
            csrf: String::new(),
            nav: "",
            admin: false,
            configures: false,
            here: here.into(),
        }
    }

    /// `aria-current` for a navigation entry.
    pub fn current(&self, nav: &str) -> &'static str {
        if self.nav == nav {
            "page"
        } else {
            "false"
        }
    }

    /// The toggle's link: the language switch, coming back to this page.
    pub fn toggle_href(&self) -> String {
        format!("/console/lang?to={}&back={}", self.tr.lang.other().code(), url_encode(&self.here))
    }
}

/// Renders a template as an HTML page.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ServerError::internal(e).into_response(),
    }
}

/// A time as the community's clock shows it (`YYYY-MM-DD HH:MM`).
pub fn local_time(t: &DateTime<FixedOffset>, tz: &chrono_tz::Tz) -> String {
    t.with_timezone(tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A time as a document carries it (RFC 3339 text) in the community's clock; text that does not parse is
/// shown as it is (a history keeps such an event, superseded as `invalid_time`).
pub fn local_time_text(at: &str, tz: &chrono_tz::Tz) -> String {
    DateTime::parse_from_rfc3339(at).map(|t| local_time(&t, tz)).unwrap_or_else(|_| at.to_string())
}

/// One page of `items`, `per_page` a page: the page's items, the page shown (`asked`, from 1, kept within the
/// pages there are) and how many pages there are (at least one).
pub fn paged<T>(items: Vec<T>, asked: Option<usize>, per_page: usize) -> (Vec<T>, usize, usize) {
    let pages = items.len().div_ceil(per_page.max(1)).max(1);
    let page = asked.unwrap_or(1).clamp(1, pages);
    let shown = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    (shown, page, pages)
}

/// The month a page asks for (`YYYY-MM`, as `<input type="month">` sends it), or `current` when it asks for
/// none; anything else is refused with `invalid_input`.
pub fn month_or(text: &str, current: Month) -> crate::error::Result<Month> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(current);
    }
    Ok(Month::parse(text)?)
}

/// Whether a role administers the community from the console: imports rosters, issues enrollment codes and
/// revokes phones (admin and station staff).
pub fn may_administer(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Station)
}

/// A rate the core computed (0–1) as a percentage with one decimal.
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    /// Chrome.
    pub chrome: Chrome,
    /// The error's words.
    pub message: String,
    /// The stable code, shown small for support.
    pub code: String,
}

/// A request refused for a reason the console says in its own words (`key`), with `status`.
pub fn refused_page(chrome: Chrome, status: StatusCode, key: &str) -> Response {
    let message = chrome.tr.t(key).to_string();
    let page = ErrorPage { message, code: ErrorCode::InvalidInput.code().to_string(), chrome };
    (status, render(&page)).into_response()
}

/// An error as a page in the viewer's language, with the error's status.
pub fn error_page(chrome: Chrome, e: &ServerError) -> Response {
    let message = if e.status == StatusCode::FORBIDDEN && e.code == ErrorCode::Unauthorized {
        chrome.tr.t("error.csrf").to_string()
    } else if e.status == StatusCode::FORBIDDEN && e.code == ErrorCode::ForbiddenDocument {
        chrome.tr.t("error.forbidden").to_string()
    } else {
        chrome.tr.error(e.code).to_string()
    };
    let page = ErrorPage { message, code: e.code.code().to_string(), chrome };
    (e.status, render(&page)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_kept_within_the_pages_there_are() {
        let items: Vec<u32> = (1..=7).collect();
        assert_eq!(paged(items.clone(), None, 3), (vec![1, 2, 3], 1, 3));
        assert_eq!(paged(items.clone(), Some(3), 3), (vec![7], 3, 3));
        assert_eq!(paged(items.clone(), Some(9), 3), (vec![7], 3, 3));
        assert_eq!(paged(items, Some(0), 3), (vec![1, 2, 3], 1, 3));
        assert_eq!(paged(Vec::<u32>::new(), Some(2), 3), (vec![], 1, 1));
    }

    #[test]
    fn a_documents_time_shows_in_the_communitys_clock_or_as_written() {
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(local_time_text("2026-11-24T01:30:00Z", &tz), "2026-11-24 09:30");
        assert_eq!(local_time_text("yesterday", &tz), "yesterday");
    }
}
