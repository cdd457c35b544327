//! Bulk actions on the queue: the rows ticked on the queue page are dispatched, verified and assigned to one
//! assignee, or rejected as duplicates of one chosen incident, each through the same path as a single action
//! (`incident::take_action`: the core's checks, the engine's checks, the audit log). The answer says per
//! incident what happened: done, with the stage it reached, or the refusal in words.

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use gridline_core::store::{IncidentAct, MAX_ASSIGNEE_CHARS, MAX_NOTE_CHARS};
use gridline_core::workflow::Action;
use gridline_core::ErrorCode;

use super::i18n::Words;
use super::incident::take_action;
use super::page::{error_page, refused_page, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::Result;

/// The bulk route.
pub fn routes() -> super::Routes {
    use axum::routing::post;
    super::Routes::new().route("/queue/bulk", post(bulk).layer(DefaultBodyLimit::max(BODY_LIMIT)))
}

/// Most incidents one bulk request acts on.
pub const MAX_BULK: usize = 200;
/// Largest bulk form body: 200 incident ids, a note of 2,000 characters percent-encoded, and room to spare.
const BODY_LIMIT: usize = 64 * 1024;
/// Longest queue query carried back to the queue.
const MAX_BACK_CHARS: usize = 1000;

/// The words of the bulk bar and its results.
pub const WORDS: Words = &[
    ("bulk.title", "批量处理", "Bulk actions"),
    ("bulk.select", "选择", "Select"),
    ("bulk.select_row", "选择事件", "Select incident"),
    ("bulk.hint", "勾选事件后，选择一项批量操作。", "Tick incidents, then choose a bulk action."),
    ("bulk.original", "重复于（原事件）", "Duplicates of (the original)"),
    ("bulk.original_none", "请选择原事件", "Choose the original"),
    ("bulk.duplicate", "驳回为重复", "Reject as duplicate"),
    ("bulk.result", "批量处理结果", "Bulk action results"),
    ("bulk.incident", "事件", "Incident"),
    ("bulk.outcome", "结果", "Outcome"),
    ("bulk.done", "已完成", "Done"),
    ("bulk.refused", "未执行", "Refused"),
    ("bulk.summary", "已完成 / 未执行", "Done / refused"),
    ("bulk.is_original", "这是被重复的原事件本身。", "This is the original itself."),
    ("bulk.none", "请至少勾选一个事件。", "Tick at least one incident."),
    ("bulk.too_many", "一次最多处理 200 个事件。", "At most 200 incidents at a time."),
    ("bulk.bad_id", "事件编号有误。", "An incident id is not valid."),
    (
        "bulk.needs_assignee",
        "核准并指派需要填写承办人（最多 64 个字符）。",
        "Verify and assign needs an assignee (at most 64 characters).",
    ),
    ("bulk.needs_original", "请选择这些事件重复的原事件。", "Choose the incident these duplicate."),
    ("bulk.note_too_long", "说明最多 2000 个字符。", "The note is at most 2,000 characters."),
    ("bulk.unknown_action", "未知的批量操作。", "Unknown bulk action."),
];

/// What the bulk bar asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BulkAct {
    /// 分流 each.
    Dispatch,
    /// 核准并指派 each to one assignee.
    Verify,
    /// 驳回 each as a duplicate of one incident.
    Duplicate,
}

impl BulkAct {
    fn parse(code: &str) -> Option<BulkAct> {
        match code {
            "dispatch" => Some(BulkAct::Dispatch),
            "verify" => Some(BulkAct::Verify),
            "duplicate" => Some(BulkAct::Duplicate),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            BulkAct::Dispatch => "dispatch",
            BulkAct::Verify => "verify",
            BulkAct::Duplicate => "duplicate",
        }
    }
}

/// The bulk form as posted: the incidents are a repeated field, so the body is read as pairs.
#[derive(Debug, Default)]
struct BulkForm {
    csrf: String,
    act: String,
    incidents: Vec<String>,
    assignee: String,
    duplicate_of: String,
    note: String,
    back: String,
}

impl BulkForm {
    /// From the posted pairs (bounded by the route's body limit); unknown fields are ignored.
    fn from_pairs(pairs: Vec<(String, String)>) -> BulkForm {
        let mut f = BulkForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "act" => f.act = v,
                "incident" => f.incidents.push(v),
                "assignee" => f.assignee = v,
                "duplicate_of" => f.duplicate_of = v,
                "note" => f.note = v,
                "back" => f.back = v,
                _ => {}
            }
        }
        f
    }
}

/// Why a whole bulk request is refused: the key of its words.
type Refusal = &'static str;

fn is_incident_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// A checked bulk request: the action for every incident, and the incidents (distinct, in the order ticked).
#[derive(Debug)]
struct Checked {
    act: BulkAct,
    template: IncidentAct,
    incidents: Vec<String>,
}

/// Checks the form: a known action, 1 to [`MAX_BULK`] incident ids, an assignee for verify, an original
/// for duplicates, a note within bounds. The original's existence is checked against the replica later.
fn check(f: &BulkForm) -> std::result::Result<Checked, Refusal> {
    let act = BulkAct::parse(&f.act).ok_or("bulk.unknown_action")?;
    if f.incidents.is_empty() {
        return Err("bulk.none");
    }
    if f.incidents.len() > MAX_BULK {
        return Err("bulk.too_many");
    }
    if !f.incidents.iter().all(|id| is_incident_id(id)) {
        return Err("bulk.bad_id");
    }
    let note = f.note.trim().to_string();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err("bulk.note_too_long");
    }
    let mut template = IncidentAct::new(Action::Dispatch, &note);
    match act {
        BulkAct::Dispatch => {}
        BulkAct::Verify => {
            let assignee = f.assignee.trim();
            if assignee.is_empty() || assignee.chars().count() > MAX_ASSIGNEE_CHARS {
                return Err("bulk.needs_assignee");
            }
            template.action = Action::Verify;
            template.assignee = Some(assignee.to_string());
        }
        BulkAct::Duplicate => {
            let original = f.duplicate_of.trim();
            if !is_incident_id(original) {
                return Err("bulk.needs_original");
            }
            template.action = Action::Reject;
            template.duplicate_of = Some(original.to_string());
        }
    }
    let mut seen = HashSet::new();
    let incidents = f.incidents.iter().filter(|id| seen.insert(id.as_str())).cloned().collect();
    Ok(Checked { act, template, incidents })
}

/// What happened to one incident.
pub struct Outcome {
    pub incident_id: String,
    /// Its title (the id when the replica does not know it).
    pub title: String,
    pub done: bool,
    /// The stage it is at now, in words ("" when unknown).
    pub stage: String,
    pub stage_code: &'static str,
    /// The refusal in words, with its stable code.
    pub refusal: String,
    pub code: String,
}

#[derive(Template)]
#[template(path = "console/bulk.html")]
struct BulkPage {
    chrome: Chrome,
    action: String,
    outcomes: Vec<Outcome>,
    done: usize,
    refused: usize,
    back: String,
}

/// Acts on every incident in turn; one refusal does not stop the others.
fn run(console: &Console, staffer: &Staffer, checked: &Checked) -> Result<Vec<Outcome>> {
    let tr = staffer.tr();
    let identity = staffer.identity();
    let community = identity.community_id.clone();
    if let Some(original) = &checked.template.duplicate_of {
        console.replicas.with(&community, |store| Ok(store.incident_detail_as(&identity, original).map(|_| ())?))?;
    }
    let mut outcomes = Vec::with_capacity(checked.incidents.len());
    for id in &checked.incidents {
        let result = if checked.template.duplicate_of.as_deref() == Some(id.as_str()) {
            Err(None)
        } else {
            take_action(console, staffer, id, checked.template.clone()).map_err(Some)
        };
        let now = console.replicas.with(&community, |store| Ok(store.incident_detail_as(&identity, id).ok()))?;
        let (title, stage, stage_code) = match &now {
            Some(d) => (d.title.clone(), tr.stage(&d.stage).to_string(), d.stage.code()),
            None => (id.clone(), String::new(), ""),
        };
        let (refusal, code) = match &result {
            Ok(()) => (String::new(), String::new()),
            Err(None) => (tr.t("bulk.is_original").to_string(), ErrorCode::InvalidInput.code().to_string()),
            Err(Some(e)) => (tr.error(e.code).to_string(), e.code.code().to_string()),
        };
        outcomes.push(Outcome {
            incident_id: id.clone(),
            title,
            done: result.is_ok(),
            stage,
            stage_code,
            refusal,
            code,
        });
    }
    let done = outcomes.iter().filter(|o| o.done).count();
    let mut detail = format!("{} done, {} refused", done, outcomes.len() - done);
    if let Some(original) = &checked.template.duplicate_of {
        detail.push_str(&format!(", duplicate of {original}"));
    }
    console.app.engine.storage().append_audit(&staffer.audit("bulk_act", checked.act.code(), &detail))?;
    Ok(outcomes)
}

/// `POST /console/queue/bulk`: the CSRF token first, then the form, then each incident through
/// `take_action`.
pub async fn bulk(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = BulkForm::from_pairs(pairs);
    let chrome = Chrome::of(&staffer, "queue", "/console/queue");
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    let checked = match check(&f) {
        Ok(c) => c,
        Err(key) => return refused_page(chrome, StatusCode::BAD_REQUEST, key),
    };
    let back: String = if f.back.chars().count() <= MAX_BACK_CHARS { f.back.clone() } else { String::new() };
    let action = match checked.act {
        BulkAct::Duplicate => chrome.tr.t("bulk.duplicate").to_string(),
        _ => chrome.tr.action(&checked.template.action).to_string(),
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    match console.blocking(move |c| run(c, &s, &checked)).await {
        Ok(outcomes) => {
            let done = outcomes.iter().filter(|o| o.done).count();
            let refused = outcomes.len() - done;
            render(&BulkPage { chrome, action, outcomes, done, refused, back })
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0190f5a4-0000-7000-8000-000000000001";
    const B: &str = "0190f5a4-0000-7000-8000-000000000002";

    fn form(act: &str, ids: &[&str]) -> BulkForm {
        BulkForm { act: act.into(), incidents: ids.iter().map(|s| s.to_string()).collect(), ..BulkForm::default() }
    }

    #[test]
    fn the_form_is_checked_before_anything_is_done() {
        assert_eq!(check(&form("dispatch", &[])).expect_err("none"), "bulk.none");
        assert_eq!(check(&form("settle", &[A])).expect_err("unknown"), "bulk.unknown_action");
        assert_eq!(check(&form("dispatch", &[A, "x"])).expect_err("bad id"), "bulk.bad_id");
        let many: Vec<String> = (0..=MAX_BULK).map(|i| format!("0190f5a4-0000-7000-8000-{i:012}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(check(&form("dispatch", &many)).expect_err("too many"), "bulk.too_many");
        assert_eq!(check(&form("dispatch", &many[..MAX_BULK])).expect("200 is fine").incidents.len(), MAX_BULK);
        assert_eq!(check(&form("verify", &[A])).expect_err("assignee"), "bulk.needs_assignee");
        assert_eq!(check(&form("duplicate", &[A])).expect_err("original"), "bulk.needs_original");
        let mut long = form("dispatch", &[A]);
        long.note = "字".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(check(&long).expect_err("note"), "bulk.note_too_long");
    }

    #[test]
    fn each_incident_once_with_the_one_assignee_or_original() {
        let mut f = form("verify", &[A, B, A]);
        f.assignee = " 钱师傅 ".into();
        let c = check(&f).expect("verify");
        assert_eq!(c.incidents, [A, B]);
        assert_eq!((c.template.action, c.template.assignee.as_deref()), (Action::Verify, Some("钱师傅")));
        let mut f = form("duplicate", &[B]);
        f.duplicate_of = A.into();
        let c = check(&f).expect("duplicate");
        assert_eq!((c.template.action, c.template.duplicate_of.as_deref()), (Action::Reject, Some(A)));
    }

    #[test]
    fn every_refusal_has_words() {
        for key in [
            "bulk.none",
            "bulk.too_many",
            "bulk.bad_id",
            "bulk.needs_assignee",
            "bulk.needs_original",
            "bulk.note_too_long",
            "bulk.unknown_action",
        ] {
            assert!(WORDS.iter().any(|(k, zh, en)| *k == key && !zh.is_empty() && !en.is_empty()), "{key}");
        }
    }
}
