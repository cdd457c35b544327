//! Response templates (常用回复): notes staff write again and again, per incident category (or every
//! category) and action, in zh-Hans, kept by an admin on `/console/responses`. The incident page offers
//! those matching its category and an action the viewer may take now, to fill the note field: a choice
//! that reloads the page with the note filled (no script needed), which the page's script does in place.

use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::model::community::CatalogueEntry;
use gridline_core::store::{IncidentDetail, MAX_NOTE_CHARS};
use gridline_core::workflow::Action;
use serde::Deserialize;

use super::admin::require_admin;
use super::i18n::{Tr, Words};
use super::page::{error_page, render, Chrome};
use super::session::{CsrfForm, Staffer};
use super::Console;
use crate::error::{Result, ServerError};
use crate::storage::ResponseTemplate;

/// The response-template routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/responses", get(page).post(save).layer(DefaultBodyLimit::max(BODY_LIMIT)))
        .route("/responses/{template_id}/delete", post(delete))
}

/// Most templates a community keeps.
pub const MAX_TEMPLATES: usize = 500;
/// How much of a template's text names it in a list.
const LABEL_CHARS: usize = 40;
const BODY_LIMIT: usize = 32 * 1024;

/// Actions console staff take on incidents: the ones a template may be for.
pub const STAFF_ACTIONS: [Action; 8] = [
    Action::Dispatch,
    Action::Settle,
    Action::Return,
    Action::Verify,
    Action::Escalate,
    Action::Resolve,
    Action::Reject,
    Action::Comment,
];

/// The words of response templates.
pub const WORDS: Words = &[
    ("responses.title", "常用回复", "Response templates"),
    ("responses.none", "还没有常用回复。", "No response template yet."),
    ("responses.category", "事件类别", "Incident category"),
    ("responses.any_category", "所有类别", "Any category"),
    ("responses.action", "操作", "Action"),
    ("responses.text", "回复内容", "Text"),
    ("responses.add", "新增常用回复", "Add a response template"),
    ("responses.edit", "修改", "Edit"),
    ("responses.editing", "修改常用回复", "Edit the response template"),
    ("responses.save", "保存", "Save"),
    ("responses.cancel", "取消修改", "Cancel editing"),
    ("responses.delete", "删除", "Delete"),
    ("responses.saved", "常用回复已保存。", "Response template saved."),
    ("responses.deleted", "常用回复已删除。", "Response template deleted."),
    ("responses.pick", "常用回复", "Response template"),
    ("responses.pick_none", "选择常用回复…", "Choose a template…"),
    ("responses.fill", "填入说明", "Fill the note"),
    ("responses.text_rule", "回复内容需 1 到 2000 个字符。", "The text must be 1 to 2,000 characters."),
    ("responses.category_rule", "该类别不在本社区的类别目录中。", "That category is not in the community's catalogue."),
    ("responses.action_rule", "请选择一项工作台操作。", "Choose a console action."),
    (
        "responses.too_many",
        "本社区的常用回复已达 500 条，请先删除一些。",
        "The community has 500 templates; delete some first.",
    ),
];

/// A template offered on an incident.
pub struct Offered {
    pub template_id: String,
    /// The action's word and the start of the text.
    pub label: String,
    pub text: String,
}

/// The community's templates matching the incident's category (or any category) and an action the viewer
/// may take now (the incident's allowed actions, which the core computed for the viewer).
pub fn offered(templates: &[ResponseTemplate], d: &IncidentDetail, tr: Tr) -> Vec<Offered> {
    templates
        .iter()
        .filter(|t| t.category.is_empty() || t.category == d.category)
        .filter_map(|t| {
            let action = d.allowed_actions.iter().find(|a| a.code() == t.action)?;
            let mut label: String = t.text.chars().take(LABEL_CHARS).collect();
            if t.text.chars().count() > LABEL_CHARS {
                label.push('…');
            }
            Some(Offered {
                template_id: t.template_id.clone(),
                label: format!("{} · {label}", tr.action(action)),
                text: t.text.clone(),
            })
        })
        .collect()
}

/// A community's templates.
pub fn load(console: &Console, community_id: &str) -> Result<Vec<ResponseTemplate>> {
    console.app.engine.storage().templates(community_id)
}

/// One template as listed.
pub struct Row {
    pub template_id: String,
    pub category: String,
    pub action: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "console/responses.html")]
struct ResponsesPage {
    chrome: Chrome,
    rows: Vec<Row>,
    categories: Vec<(String, String)>,
    actions: Vec<(&'static str, &'static str)>,
    /// The template being edited ("" for a new one) and the form's values.
    editing: String,
    category: String,
    action: String,
    text: String,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    edit: String,
    #[serde(default)]
    done: String,
}

/// The form's values: (template id, category, action, text).
type Filled = (String, String, String, String);

async fn view(
    console: &Arc<Console>,
    staffer: &Staffer,
    status: StatusCode,
    filled: Option<Filled>,
    message: Option<String>,
    error: Option<String>,
    edit: String,
) -> Response {
    let chrome = Chrome::of(staffer, "admin", "/console/responses");
    let tr = chrome.tr;
    let community = staffer.staff.community_id.clone();
    let loaded = console
        .blocking(move |c| {
            let categories = c.replicas.with(&community, |s| Ok(s.settings().incident_categories.clone()))?;
            Ok((load(c, &community)?, categories))
        })
        .await;
    let (templates, catalogue): (Vec<ResponseTemplate>, Vec<CatalogueEntry>) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(chrome, &e),
    };
    let (editing, category, action, text) = filled.unwrap_or_else(|| {
        templates
            .iter()
            .find(|t| t.template_id == edit)
            .map(|t| (t.template_id.clone(), t.category.clone(), t.action.clone(), t.text.clone()))
            .unwrap_or_default()
    });
    let rows = templates
        .into_iter()
        .map(|t| Row {
            category: if t.category.is_empty() {
                tr.t("responses.any_category").to_string()
            } else {
                tr.entry(&catalogue, &t.category).to_string()
            },
            action: tr.action_code(&t.action),
            template_id: t.template_id,
            text: t.text,
        })
        .collect();
    let categories = catalogue.iter().map(|c| (c.code.clone(), tr.entry(&catalogue, &c.code).to_string())).collect();
    let actions = STAFF_ACTIONS.iter().map(|a| (a.code(), tr.action(a))).collect();
    let page = ResponsesPage { chrome, rows, categories, actions, editing, category, action, text, message, error };
    (status, render(&page)).into_response()
}

/// `GET /console/responses`: the community's templates and the form to add one (or edit one, `?edit=ID`).
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<PageQuery>) -> Response {
    if let Err(e) = require_admin(&staffer) {
        return error_page(Chrome::of(&staffer, "admin", "/console/responses"), &e);
    }
    let tr = staffer.tr();
    let message = match q.done.as_str() {
        "saved" => Some(tr.t("responses.saved").to_string()),
        "deleted" => Some(tr.t("responses.deleted").to_string()),
        _ => None,
    };
    view(&console, &staffer, StatusCode::OK, None, message, None, q.edit).await
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    template_id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
}

/// Why a template is not saved: the key of its words.
type Refusal = &'static str;

/// Checks a template's action and text (the category is checked against the catalogue in [`save`]).
fn check(action: &str, text: &str) -> std::result::Result<(Action, String), Refusal> {
    let action = action.parse::<Action>().ok().filter(|a| STAFF_ACTIONS.contains(a)).ok_or("responses.action_rule")?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err("responses.text_rule");
    }
    Ok((action, text.to_string()))
}

/// What a save came to.
enum Saved {
    Ok,
    Refused(Refusal),
}

/// `POST /console/responses`: adds a template, or replaces one of the community's (`template_id`).
pub async fn save(State(console): State<Arc<Console>>, staffer: Staffer, Form(f): Form<SaveForm>) -> Response {
    if let Err(e) = require_admin(&staffer).and_then(|()| staffer.check_csrf(&f.csrf)) {
        return error_page(Chrome::of(&staffer, "admin", "/console/responses"), &e);
    }
    let filled: Filled = (
        f.template_id.chars().take(64).collect(),
        f.category.chars().take(64).collect(),
        f.action.chars().take(32).collect(),
        f.text.chars().take(MAX_NOTE_CHARS + 1).collect(),
    );
    let (action, text) = match check(&f.action, &f.text) {
        Ok(v) => v,
        Err(key) => {
            let error = Some(staffer.tr().t(key).to_string());
            return view(&console, &staffer, StatusCode::BAD_REQUEST, Some(filled), None, error, String::new()).await;
        }
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let saved = console
        .blocking(move |c| {
            let community = s.staff.community_id.clone();
            let known = c.replicas.with(&community, |st| {
                Ok(st.settings().incident_categories.iter().any(|cat| cat.code == f.category))
            })?;
            if !f.category.is_empty() && !known {
                return Ok(Saved::Refused("responses.category_rule"));
            }
            let storage = c.app.engine.storage();
            let existing = storage.templates(&community)?;
            let template_id = if f.template_id.is_empty() {
                if existing.len() >= MAX_TEMPLATES {
                    return Ok(Saved::Refused("responses.too_many"));
                }
                uuid::Uuid::now_v7().to_string()
            } else {
                existing
                    .iter()
                    .find(|t| t.template_id == f.template_id)
                    .map(|t| t.template_id.clone())
                    .ok_or_else(|| ServerError::not_found(format!("no response template {:?}", f.template_id)))?
            };
            let template = ResponseTemplate {
                template_id,
                community_id: community,
                category: f.category,
                action: action.code().into(),
                text,
            };
            storage.put_template(&template)?;
            let detail = format!(
                "{} {} {}",
                template.action,
                template.category,
                template.text.chars().take(200).collect::<String>()
            );
            storage.append_audit(&s.audit("response_save", &template.template_id, detail.trim()))?;
            Ok(Saved::Ok)
        })
        .await;
    match saved {
        Ok(Saved::Ok) => Redirect::to("/console/responses?done=saved").into_response(),
        Ok(Saved::Refused(key)) => {
            let error = Some(staffer.tr().t(key).to_string());
            view(&console, &staffer, StatusCode::BAD_REQUEST, Some(filled), None, error, String::new()).await
        }
        Err(e) => error_page(Chrome::of(&staffer, "admin", "/console/responses"), &e),
    }
}

/// `POST /console/responses/{id}/delete`.
pub async fn delete(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(template_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let chrome = Chrome::of(&staffer, "admin", "/console/responses");
    if let Err(e) = require_admin(&staffer).and_then(|()| staffer.check_csrf(&f.csrf)) {
        return error_page(chrome, &e);
    }
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let done = console
        .blocking(move |c| {
            let storage = c.app.engine.storage();
            if !storage.delete_template(&s.staff.community_id, &template_id)? {
                return Err(ServerError::not_found(format!("no response template {template_id:?}")));
            }
            storage.append_audit(&s.audit("response_delete", &template_id, ""))
        })
        .await;
    match done {
        Ok(()) => Redirect::to("/console/responses?done=deleted").into_response(),
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_for_a_console_action_and_has_text() {
        assert_eq!(check("dispatch", "  已转工作站处理。 "), Ok((Action::Dispatch, "已转工作站处理。".into())));
        assert_eq!(check("evaluate", "满意"), Err("responses.action_rule"));
        assert_eq!(check("report", "x"), Err("responses.action_rule"));
        assert_eq!(check("dispatch", "   "), Err("responses.text_rule"));
        assert_eq!(check("dispatch", &"字".repeat(MAX_NOTE_CHARS + 1)), Err("responses.text_rule"));
        for key in ["responses.action_rule", "responses.text_rule", "responses.category_rule", "responses.too_many"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }
}
