//! An incident: its fields, photos, household and history (superseded events shown as such), and the
//! actions the staff member's role allows now, as buttons named by the action words. An action is prepared by
//! the replica as the account's own change and stored by the engine after a phone's checks; the replica is
//! fed at once, so the page that follows shows the new stage.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::docs::DocId;
use gridline_core::model::Severity;
use gridline_core::store::{IncidentAct, IncidentDetail};
use gridline_core::workflow::Action;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::page::{error_page, local_time, local_time_text, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The incident routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/incidents/{incident_id}", get(page))
        .route("/incidents/{incident_id}/act", post(act))
        .route("/photos/{sha256}", get(photo))
}

/// One history row as shown.
pub struct EventRow {
    pub action: String,
    pub actor: String,
    pub role: String,
    pub at: String,
    pub applied: bool,
    /// Why a superseded event no longer applies, in words.
    pub superseded_reason: String,
    /// Its stable code (shown on hover, for support).
    pub superseded_code: String,
    pub stage_after: String,
    pub note: String,
    pub photos: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/incident.html")]
struct IncidentPage {
    chrome: Chrome,
    d: IncidentDetail,
    stage: String,
    severity: String,
    urgent: bool,
    category: String,
    waiting_for: String,
    reported: String,
    deadline: String,
    deadline_local: String,
    events: Vec<EventRow>,
    actions: Vec<(&'static str, &'static str)>,
    wants_assignee: bool,
    wants_duplicate: bool,
    wants_evaluation: bool,
    message: Option<String>,
    error: Option<String>,
    /// Response templates on offer, and the note they filled in (`?response=ID`).
    responses: Vec<super::responses::Offered>,
    note: String,
    related: super::duplicates::Related,
}

#[derive(Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
    /// A response template to fill the note with.
    #[serde(default)]
    response: Option<String>,
}

/// What the incident page reads: the incident as the viewer sees it, the community's settings, the
/// incidents related as duplicates, and the community's response templates.
struct Loaded {
    d: IncidentDetail,
    settings: gridline_core::model::CommunitySettings,
    related: super::duplicates::Related,
    templates: Vec<crate::storage::ResponseTemplate>,
}

fn load(
    console: &Console,
    staffer_identity: &gridline_core::store::DeviceInfo,
    incident_id: &str,
    tr: super::i18n::Tr,
) -> Result<Loaded> {
    let (d, settings, related) = console.replicas.with(&staffer_identity.community_id, |store| {
        let d = store.incident_detail_as(staffer_identity, incident_id)?;
        let settings = store.settings().clone();
        let related = super::duplicates::related(store, &d, tr, &settings.tz())?;
        Ok((d, settings, related))
    })?;
    let templates = super::responses::load(console, &staffer_identity.community_id)?;
    Ok(Loaded { d, settings, related, templates })
}

fn build(chrome: Chrome, loaded: Loaded, response: Option<&str>) -> IncidentPage {
    let Loaded { d, settings, related, templates } = loaded;
    let tr = chrome.tr;
    let tz = settings.tz();
    let responses = super::responses::offered(&templates, &d, tr);
    let note = responses.iter().find(|r| Some(r.template_id.as_str()) == response).map(|r| r.text.clone());
    let events = d
        .events
        .iter()
        .map(|e| EventRow {
            action: tr.action_code(&e.action),
            actor: e.actor.clone(),
            role: tr.role_code(&e.role),
            at: local_time_text(&e.at, &tz),
            applied: e.applied,
            superseded_reason: e.superseded_reason.map(|r| tr.superseded(&r).to_string()).unwrap_or_default(),
            superseded_code: e.superseded_reason.map(|r| r.code().to_string()).unwrap_or_default(),
            stage_after: e.stage_after.map(|s| tr.stage(&s).to_string()).unwrap_or_default(),
            note: e.note.clone(),
            photos: e.photos.clone(),
        })
        .collect();
    let actions = d.allowed_actions.iter().map(|a| (a.code(), tr.action(a))).collect();
    IncidentPage {
        stage: tr.stage(&d.stage).to_string(),
        severity: tr.t(if d.severity == Severity::Urgent { "severity.urgent" } else { "severity.normal" }).to_string(),
        urgent: d.severity == Severity::Urgent,
        category: tr.entry(&settings.incident_categories, &d.category).to_string(),
        waiting_for: d.waiting_for.map(|r| tr.role(&r).to_string()).unwrap_or_default(),
        reported: local_time(&d.reported_at, &tz),
        deadline: d.deadline.map(|t| t.to_rfc3339()).unwrap_or_default(),
        deadline_local: d.deadline.map(|t| local_time(&t, &tz)).unwrap_or_default(),
        wants_assignee: d.allowed_actions.contains(&Action::Verify),
        wants_duplicate: d.allowed_actions.contains(&Action::Reject),
        wants_evaluation: d.allowed_actions.contains(&Action::Evaluate),
        events,
        actions,
        d,
        chrome,
        message: None,
        error: None,
        note: note.unwrap_or_default(),
        responses,
        related,
    }
}

/// `GET /console/incidents/{id}`.
pub async fn page(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(incident_id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let chrome = Chrome::of(&staffer, "queue", format!("/console/incidents/{incident_id}"));
    let identity = staffer.identity();
    let (id, tr) = (incident_id.clone(), staffer.tr());
    match console.blocking(move |c| load(c, &identity, &id, tr)).await {
        Ok(loaded) => {
            let mut p = build(chrome, loaded, q.response.as_deref());
            if q.done.is_some() {
                p.message = Some(p.chrome.tr.t("incident.done").to_string());
            }
            render(&p)
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    duplicate_of: String,
    #[serde(default)]
    satisfied: String,
}

impl ActForm {
    fn act(&self) -> Result<IncidentAct> {
        let action: Action = self.action.parse().map_err(|_| {
            ServerError::bad_request(ErrorCode::InvalidInput, format!("unknown action {:?}", self.action))
        })?;
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(IncidentAct {
            action,
            note: self.note.trim().to_string(),
            assignee: some(&self.assignee),
            duplicate_of: some(&self.duplicate_of),
            satisfied: match self.satisfied.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            photos: vec![],
        })
    }
}

/// Takes `act` on an incident as `staffer`: the replica prepares the account's change (the workflow's checks
/// on the stage it holds), the engine checks and stores it like a phone's, the replica is fed, and the
/// change is announced to open pages.
pub fn take_action(console: &Console, staffer: &Staffer, incident_id: &str, act: IncidentAct) -> Result<()> {
    let identity = staffer.identity();
    let community = identity.community_id.clone();
    let detail = format!("{} {}", act.action.code(), act.note.chars().take(200).collect::<String>());
    let (doc_id, change): (DocId, Vec<u8>) =
        console.replicas.with(&community, |store| Ok(store.incident_act_change(&identity, incident_id, act)?))?;
    console.app.engine.submit(&staffer.device(), &doc_id, &change, console.app.clock.now())?;
    console.app.engine.storage().append_audit(&staffer.audit("incident_act", incident_id, detail.trim()))?;
    super::replica::announce(console, super::replica::feed(console, &community)?);
    Ok(())
}

/// `POST /console/incidents/{id}/act`.
pub async fn act(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(incident_id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(Chrome::of(&staffer, "queue", "/console/queue"), &e);
    }
    let staffer = Arc::new(staffer);
    let (s, id) = (staffer.clone(), incident_id.clone());
    let done = console.blocking(move |c| take_action(c, &s, &id, f.act()?)).await;
    match done {
        Ok(()) => Redirect::to(&format!("/console/incidents/{incident_id}?done=1")).into_response(),
        Err(e) => refused(&console, &staffer, &incident_id, e).await,
    }
}

/// The detail page again, with the refusal in words and its status (`action_not_allowed`: 409).
async fn refused(console: &Arc<Console>, staffer: &Staffer, incident_id: &str, e: ServerError) -> Response {
    let chrome = Chrome::of(staffer, "queue", format!("/console/incidents/{incident_id}"));
    let identity = staffer.identity();
    let (id, tr) = (incident_id.to_string(), staffer.tr());
    let status = e.status;
    match console.blocking(move |c| load(c, &identity, &id, tr)).await {
        Ok(loaded) => {
            let mut p = build(chrome, loaded, None);
            p.error = Some(format!("{} ({})", p.chrome.tr.error(e.code), e.code.code()));
            (status, render(&p)).into_response()
        }
        Err(_) => error_page(chrome, &e),
    }
}

/// `GET /console/photos/{sha256}`: a photo, only when a document of the viewer's community names it and one
/// of its uploaders may write that document (the devices' rule, `api::blob_in_scope`: a hash copied
/// into another community's document grants nothing).
pub async fn photo(State(console): State<Arc<Console>>, staffer: Staffer, Path(sha256): Path<String>) -> Response {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return ServerError::not_found("no such photo").into_response();
    }
    let community = staffer.staff.community_id.clone();
    let found = console
        .blocking(move |c| {
            if !crate::api::blob_in_scope(&c.app.engine, &sha256, |d| d.community == community)? {
                return Ok(None);
            }
            c.app.engine.storage().blob(&sha256)
        })
        .await;
    match found {
        Ok(Some(bytes)) => {
            let mime = gridline_core::store::blobs::image_mime(&bytes).unwrap_or("application/octet-stream");
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "private, max-age=3600")], bytes).into_response()
        }
        Ok(None) => ServerError::not_found("no such photo").into_response(),
        Err(e) => e.into_response(),
    }
}
