//! Saved views: the queue's filters kept under a name ("我的超时紧急", "G03 报修") and shared within the
//! community, listed on the queue page as links. The one who saved a view, or an admin, saves its name again
//! (replacing its filters) or deletes it. Only the queue's own filters are kept: the query is parsed and written
//! again before it is stored, so a view is never more than a link to the queue.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::model::Role;
use serde::Deserialize;

use super::i18n::Words;
use super::page::{error_page, refused_page as refused, Chrome};
use super::queue::QueueQuery;
use super::session::{CsrfForm, Staffer};
use super::Console;
use crate::error::{Result, ServerError};
use crate::storage::SavedView;

/// The saved-view routes.
pub fn routes() -> super::Routes {
    use axum::routing::post;
    super::Routes::new()
        .route("/views", post(save).layer(DefaultBodyLimit::max(BODY_LIMIT)))
        .route("/views/{view_id}/delete", post(delete))
}

/// Longest view name, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// Longest query a view keeps, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most views a community keeps.
pub const MAX_VIEWS: usize = 100;
const BODY_LIMIT: usize = 16 * 1024;

/// The words of saved views.
pub const WORDS: Words = &[
    ("views.title", "常用筛选", "Saved views"),
    ("views.none", "还没有保存的筛选。", "No saved view yet."),
    ("views.name", "名称", "Name"),
    ("views.save", "保存当前筛选", "Save these filters"),
    ("views.delete", "删除", "Delete"),
    ("views.by", "保存人", "Saved by"),
    ("views.name_rule", "名称需 1 到 60 个字符。", "A name of 1 to 60 characters is required."),
    ("views.query_rule", "筛选条件过长。", "The filters are too long."),
    (
        "views.name_taken",
        "该名称已被他人使用，请换一个名称。",
        "Someone else saved a view with that name; choose another.",
    ),
    (
        "views.too_many",
        "本社区的常用筛选已达 100 个，请先删除一些。",
        "The community has 100 saved views; delete some first.",
    ),
    (
        "views.not_yours",
        "只有保存人或管理员可以删除此筛选。",
        "Only whoever saved this view, or an admin, may delete it.",
    ),
];

/// A community's saved views, by name.
pub async fn load(console: &Arc<Console>, community_id: &str) -> Result<Vec<SavedView>> {
    let community = community_id.to_string();
    console.blocking(move |c| c.app.engine.storage().views(&community)).await
}

/// The queue's filters in `query`, written again with only the filters the queue knows (no paging).
pub fn normalise(query: &str) -> Option<String> {
    let uri: Uri = format!("/console/queue?{query}").parse().ok()?;
    let Query(q) = Query::<QueueQuery>::try_from_uri(&uri).ok()?;
    Some(q.query_string())
}

/// Why a save is refused: the key of its words.
type Refusal = &'static str;

/// Checks a view's name and query; returns them as stored.
fn check(name: &str, query: &str) -> std::result::Result<(String, String), Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err("views.name_rule");
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err("views.query_rule");
    }
    let query = normalise(query.trim_start_matches('?')).ok_or("views.query_rule")?;
    Ok((name.to_string(), query))
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

/// What a save came to.
enum Saved {
    Ok(String),
    Refused(StatusCode, Refusal),
}

/// `POST /console/views`: saves the filters under the name (replacing a view of the same name).
pub async fn save(State(console): State<Arc<Console>>, staffer: Staffer, Form(f): Form<SaveForm>) -> Response {
    let chrome = Chrome::of(&staffer, "queue", "/console/queue");
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    let (name, query) = match check(&f.name, &f.query) {
        Ok(v) => v,
        Err(key) => return refused(chrome, StatusCode::BAD_REQUEST, key),
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let saved = console
        .blocking(move |c| {
            let storage = c.app.engine.storage();
            let community = s.staff.community_id.clone();
            let views = storage.views(&community)?;
            // A name saved again replaces its filters, by whoever saved it (or an admin), who stays its author.
            let same = views.iter().find(|v| v.name == name);
            let (view_id, created_by) = match same {
                Some(v) if v.created_by != s.staff.user && s.staff.role != Role::Admin => {
                    return Ok(Saved::Refused(StatusCode::CONFLICT, "views.name_taken"));
                }
                Some(v) => (v.view_id.clone(), v.created_by.clone()),
                None if views.len() >= MAX_VIEWS => return Ok(Saved::Refused(StatusCode::CONFLICT, "views.too_many")),
                None => (uuid::Uuid::now_v7().to_string(), s.staff.user.clone()),
            };
            let view = SavedView { view_id, community_id: community, name, query, created_by };
            storage.put_view(&view)?;
            storage.append_audit(&s.audit("view_save", &view.view_id, &format!("{} ?{}", view.name, view.query)))?;
            Ok(Saved::Ok(view.query))
        })
        .await;
    match saved {
        Ok(Saved::Ok(query)) => Redirect::to(&format!("/console/queue?{query}")).into_response(),
        Ok(Saved::Refused(status, key)) => refused(chrome, status, key),
        Err(e) => error_page(chrome, &e),
    }
}

/// `POST /console/views/{id}/delete`: by whoever saved it, or an admin.
pub async fn delete(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(view_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let chrome = Chrome::of(&staffer, "queue", "/console/queue");
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let done = console
        .blocking(move |c| {
            let storage = c.app.engine.storage();
            let community = s.staff.community_id.clone();
            let Some(view) = storage.views(&community)?.into_iter().find(|v| v.view_id == view_id) else {
                return Err(ServerError::not_found(format!("no saved view {view_id:?}")));
            };
            if view.created_by != s.staff.user && s.staff.role != Role::Admin {
                return Ok(false);
            }
            storage.delete_view(&community, &view.view_id)?;
            storage.append_audit(&s.audit("view_delete", &view.view_id, &view.name))?;
            Ok(true)
        })
        .await;
    match done {
        Ok(true) => Redirect::to("/console/queue").into_response(),
        Ok(false) => refused(chrome, StatusCode::FORBIDDEN, "views.not_yours"),
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::page::url_encode;
    use super::*;

    #[test]
    fn only_the_queues_filters_are_kept() {
        assert_eq!(
            normalise("grid=G03&category=facility_repair&page=4&evil=%3Cscript%3E").as_deref(),
            Some("grid=G03&category=facility_repair")
        );
        assert_eq!(normalise("overdue=1&severity=urgent").as_deref(), Some("severity=urgent&overdue=1"));
        assert_eq!(normalise("q=%E6%8A%A5%E4%BF%AE").as_deref(), Some(format!("q={}", url_encode("报修")).as_str()));
        assert_eq!(normalise("").as_deref(), Some(""));
    }

    #[test]
    fn names_and_queries_are_bounded() {
        assert_eq!(check("  G03 报修 ", "?grid=G03").expect("fine"), ("G03 报修".into(), "grid=G03".into()));
        assert_eq!(check(" ", "grid=G03"), Err("views.name_rule"));
        assert_eq!(check(&"名".repeat(MAX_NAME_CHARS + 1), ""), Err("views.name_rule"));
        assert_eq!(check("a\u{7}b", ""), Err("views.name_rule"));
        assert_eq!(check("long", &"q=x&".repeat(300)), Err("views.query_rule"));
        for key in ["views.name_rule", "views.query_rule", "views.name_taken", "views.too_many", "views.not_yours"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }
}
