//! A minimal device written with the core's protocol types and Automerge directly (no device store): it
//! enrolls, writes entities and honest check-ins, signs changes, and syncs round by round, so tests can also
//! send what the core client never would.

use std::collections::{BTreeSet, HashMap};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, AutoCommit};
use ed25519_dalek::{Signer, SigningKey};
use gridline_core::docs::{self, DocId, DocKind};
use gridline_core::model::{
    CheckIn, CheckInKind, CheckInOutcome, IncidentEvent, IncidentFields, OrderEvent, ServiceOrderFields, Severity,
};
use gridline_core::sync::protocol::{
    decode_body, encode_body, ApiError, ChangeSignature, DocMessage, EnrollRequest, EnrollResponse, SyncRequest,
    SyncResponse, PROTOCOL_VERSION,
};

use crate::server::{api_error, Server};

/// A minimal device: documents, sync states and cursor in memory.
#[derive(Debug)]
pub struct Device {
    /// What enrollment returned: device id, user, community, token.
    pub info: EnrollResponse,
    /// The device's signing key.
    pub key: SigningKey,
    /// Local documents by id.
    pub docs: HashMap<String, AutoCommit>,
    /// Automerge sync state with the server, by document id.
    pub states: HashMap<String, State>,
    /// The server's catalogue cursor.
    pub cursor: u64,
    /// The server's base URL.
    pub base: String,
    /// The server's client.
    pub http: reqwest::blocking::Client,
    /// Rounds sent so far.
    pub round_trips: u32,
    /// Body size of the last request.
    pub last_request_bytes: usize,
    /// Body size of the last response.
    pub last_response_bytes: usize,
    /// The `Retry-After` seconds of the last response that carried one.
    pub last_retry_after: Option<u64>,
}

impl Device {
    /// Enrolls a new device (fresh key) with `code`; the server's error when it refuses.
    pub fn enroll(server: &Server, code: &str) -> Result<Device, ApiError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random");
        let key = SigningKey::from_bytes(&seed);
        let req = EnrollRequest { code: code.into(), public_key: hex::encode(key.verifying_key().as_bytes()) };
        let res = server.http.post(server.url("/v1/enroll")).json(&req).send().expect("send");
        if !res.status().is_success() {
            return Err(res.json().expect("error body"));
        }
        Ok(Device {
            info: res.json().expect("enroll response"),
            key,
            docs: HashMap::new(),
            states: HashMap::new(),
            cursor: 0,
            base: server.url(""),
            http: server.http.clone(),
            round_trips: 0,
            last_request_bytes: 0,
            last_response_bytes: 0,
            last_retry_after: None,
        })
    }

    /// The Automerge actor of this device's changes (its device id).
    pub fn actor(&self) -> ActorId {
        ActorId::from(uuid::Uuid::parse_str(&self.info.device_id).expect("uuid").as_bytes().as_slice())
    }

    /// The community the device is enrolled in.
    pub fn community(&self) -> &str {
        &self.info.community_id
    }

    /// The local document, created (with its scope) if absent.
    pub fn doc(&mut self, id: &DocId) -> &mut AutoCommit {
        let actor = self.actor();
        self.docs.entry(id.to_string()).or_insert_with(|| docs::new_document(id, &actor).expect("new doc"))
    }

    /// Writes an entity with a note into a document: in a check-in log, a `checkin/<id>` key gets an honest
    /// check-in of this device (the server binds check-ins to their author and roster).
    pub fn write(&mut self, id: &DocId, key: &str, note: &str) {
        if let (DocKind::CheckInLog, Some(check_in_id)) =
            (id.kind, key.strip_prefix(gridline_core::docs::checkin_log::CHECK_IN_PREFIX))
        {
            let c = self.check_in(id, check_in_id, note);
            return self.append_check_in(id, &c);
        }
        let doc = self.doc(id);
        docs::put_entity(doc, key, &vec![("note", docs::s(note))]).expect("put");
        doc.commit();
    }

    /// Writes a new incident report of this device's user in `grid`, dated now (not yet synced); returns its
    /// document id. The report claims the grid leader's role, as an honest grid leader's does.
    pub fn report_incident(&mut self, grid: &str, title: &str, severity: Severity) -> DocId {
        let incident_id = uuid::Uuid::now_v7().to_string();
        let id = DocId::incident(self.community(), grid, &incident_id);
        let at = chrono::Utc::now().fixed_offset();
        let fields = IncidentFields {
            incident_id,
            grid: grid.into(),
            category: "facility_repair".into(),
            severity,
            title: title.into(),
            description: "the stairwell light is out".into(),
            household_code: None,
            location: None,
            photos: vec![],
            check_in_id: None,
            reporter: self.info.user.clone(),
            reporter_device: self.info.device_id.clone(),
            at,
        };
        let report =
            IncidentEvent::new("report", &self.info.user, &self.info.device_id, "grid_leader", at.to_rfc3339());
        let doc = self.doc(&id);
        docs::incident::create(doc, &fields, &report).expect("create the incident");
        doc.commit();
        id
    }

    /// Writes a new service order of this device's user (a grid leader's, say) for `household` of `grid`,
    /// dated now (not yet synced); returns its document id. The resident's name, address and phone are copied
    /// in as a requesting phone copies them from its roster.
    pub fn request_order(&mut self, grid: &str, household: &str, service: &str) -> DocId {
        let order_id = uuid::Uuid::now_v7().to_string();
        let id = DocId::service_order(self.community(), grid, &order_id);
        let fields = ServiceOrderFields {
            order_id,
            grid: grid.into(),
            household_code: household.into(),
            resident: Some("张奶奶".into()),
            address: "1-1-101".into(),
            phone: Some("13800000000".into()),
            service: service.into(),
            note: "午饭送到家".into(),
            due: None,
            from_visit: None,
            requester: self.info.user.clone(),
            requester_device: self.info.device_id.clone(),
            at: chrono::Utc::now().fixed_offset(),
        };
        let request = self.order_event("request");
        let doc = self.doc(&id);
        docs::service_order::create(doc, &fields, &request).expect("create the order");
        doc.commit();
        id
    }

    /// A service-order event of this device's user in its role, dated now.
    pub fn order_event(&self, action: &str) -> OrderEvent {
        let at = chrono::Utc::now().to_rfc3339();
        OrderEvent::new(action, &self.info.user, &self.info.device_id, &self.info.role, at)
    }

    /// Appends `event` to this device's copy of order `id` (not yet synced).
    pub fn append_order_event(&mut self, id: &DocId, event: &OrderEvent) {
        let doc = self.doc(id);
        docs::service_order::append_event(doc, event).expect("append the event");
        doc.commit();
    }

    /// An honest check-in of this device in `log` (see [`check_in_by`]).
    pub fn check_in(&self, log: &DocId, check_in_id: &str, note: &str) -> CheckIn {
        check_in_by(&self.info.user, &self.info.device_id, log, check_in_id, note)
    }

    /// Appends a check-in to the local log `log`, true or not.
    pub fn append_check_in(&mut self, log: &DocId, c: &CheckIn) {
        let doc = self.doc(log);
        docs::checkin_log::append(doc, c).expect("append");
        doc.commit();
    }

    /// Signs the hashes of changes this device authored (for a relay by another device).
    pub fn sign(&self, hashes: &[automerge::ChangeHash]) -> Vec<ChangeSignature> {
        hashes
            .iter()
            .map(|h| ChangeSignature {
                change_hash: h.to_string(),
                device_id: self.info.device_id.clone(),
                signature: hex::encode(self.key.sign(h.as_ref()).to_bytes()),
            })
            .collect()
    }

    /// One raw round: returns the status and, on success, the decoded response.
    pub fn round(&mut self, docs: Vec<DocMessage>) -> Result<SyncResponse, (u16, ApiError)> {
        let req = SyncRequest { protocol: PROTOCOL_VERSION, cursor: self.cursor, docs };
        let body = encode_body(&req).expect("encode");
        self.last_request_bytes = body.len();
        let res = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(&self.info.token)
            .header("content-type", "application/cbor")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .map_err(|e| (0, ApiError::new("network", e.to_string())))?;
        let status = res.status().as_u16();
        if let Some(secs) = res.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()) {
            self.last_retry_after = Some(secs);
        }
        let bytes = res.bytes().map_err(|e| (0, ApiError::new("network", e.to_string())))?;
        self.round_trips += 1;
        self.last_response_bytes = bytes.len();
        if status != 200 {
            return Err((status, api_error(&bytes)));
        }
        Ok(decode_body(&bytes).expect("decode response"))
    }

    /// Sync messages for every local document that has something to say.
    pub fn outgoing(&mut self, only: Option<&BTreeSet<String>>) -> Vec<DocMessage> {
        let mut out = Vec::new();
        for (id, doc) in self.docs.iter_mut() {
            if only.is_some_and(|o| !o.contains(id)) {
                continue;
            }
            if out.len() == gridline_core::sync::protocol::MAX_DOCS_PER_REQUEST {
                break;
            }
            let state = self.states.entry(id.clone()).or_default();
            if let Some(m) = doc.sync().generate_sync_message(state) {
                out.push(DocMessage { doc_id: id.clone(), message: m.encode(), signatures: vec![] });
            }
        }
        // In the core client's order (by document id: rosters before the logs that name their households).
        out.sort_by_key(|m| DocId::parse(&m.doc_id).ok());
        out
    }

    /// Applies a response: the server's messages, and the catalogue (documents to start syncing). Returns
    /// the documents the catalogue says differ from the local copy.
    pub fn apply(&mut self, res: &SyncResponse) -> BTreeSet<String> {
        let actor = self.actor();
        for m in &res.docs {
            let doc = self.docs.entry(m.doc_id.clone()).or_insert_with(|| AutoCommit::new().with_actor(actor.clone()));
            let state = self.states.entry(m.doc_id.clone()).or_default();
            doc.sync().receive_sync_message(state, Message::decode(&m.message).expect("message")).expect("receive");
        }
        let mut differ = BTreeSet::new();
        for e in &res.catalogue {
            let doc = self.docs.entry(e.doc_id.clone()).or_insert_with(|| AutoCommit::new().with_actor(actor.clone()));
            let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
            if heads != e.heads {
                // The server has news for this document: start a fresh session from the shared heads, or
                // Automerge would wait for the server to speak first and say nothing.
                if let Some(state) = self.states.get_mut(&e.doc_id) {
                    *state = State::decode(&state.encode()).unwrap_or_default();
                }
                differ.insert(e.doc_id.clone());
            }
        }
        self.cursor = res.cursor;
        differ
    }

    /// One round the way the core client sends it: each document's message carries every change since the
    /// heads it shares with the server, in document-id order (rosters before logs).
    pub fn push(&mut self, ids: &[DocId]) -> Result<SyncResponse, (u16, ApiError)> {
        let mut ids = ids.to_vec();
        ids.sort();
        let mut msgs = Vec::new();
        for id in ids {
            let text = id.to_string();
            let shared = self.states.get(&text).map(|s| s.shared_heads.clone()).unwrap_or_default();
            let doc = self.doc(&id);
            let chunk: Vec<u8> = doc.get_changes(&shared).iter().flat_map(|c| c.raw_bytes().to_vec()).collect();
            let heads = doc.get_heads();
            let message = Message {
                heads: heads.clone(),
                need: vec![],
                have: vec![automerge::sync::Have { last_sync: shared, bloom: Default::default() }],
                changes: vec![chunk].into(),
                flags: None,
                version: automerge::sync::MessageVersion::V2,
            };
            msgs.push(DocMessage { doc_id: text, message: message.encode(), signatures: vec![] });
        }
        self.round(msgs)
    }

    /// Syncs until nothing is left to say (bounded); returns the round trips used.
    pub fn sync(&mut self) -> Result<u32, (u16, ApiError)> {
        let start = self.round_trips;
        let mut docs = self.outgoing(None);
        for _ in 0..12 {
            let res = self.round(docs)?;
            let differ = self.apply(&res);
            docs = self.outgoing(None);
            if !res.more && differ.is_empty() && docs.is_empty() {
                break;
            }
        }
        Ok(self.round_trips - start)
    }

    /// Ids of the local documents that hold anything.
    pub fn ids(&mut self) -> BTreeSet<String> {
        self.docs.iter_mut().filter_map(|(k, d)| (!d.get_heads().is_empty()).then(|| k.clone())).collect()
    }

    /// Notes of every entity under root of a local document.
    pub fn notes(&self, id: &str) -> Vec<(String, String)> {
        let Some(doc) = self.docs.get(id) else { return vec![] };
        docs::entities(doc, "").filter_map(|(k, e)| e.opt_str("note").map(|n| (k, n))).collect()
    }
}

/// When support check-ins happen (the day of [`log_id`]).
pub const CHECK_IN_AT: &str = "2026-11-24T09:30:00+08:00";

/// An honest check-in by `user` on `device_id` in `log`: at the first household of the log's grid in
/// [`Server::community_with_roster`](crate::Server::community_with_roster), at [`CHECK_IN_AT`].
pub fn check_in_by(user: &str, device_id: &str, log: &DocId, check_in_id: &str, note: &str) -> CheckIn {
    let grid = log.grid.clone().expect("a check-in log has a grid");
    CheckIn {
        check_in_id: check_in_id.into(),
        household_code: format!("{grid}-H0"),
        grid,
        kind: CheckInKind::Door,
        outcome: CheckInOutcome::Well,
        note: note.into(),
        photos: vec![],
        location: None,
        at: chrono::DateTime::parse_from_rfc3339(CHECK_IN_AT).expect("time"),
        author: user.into(),
        device_id: device_id.into(),
    }
}

/// Today's check-in log id of `grid`.
pub fn log_id(community: &str, grid: &str) -> DocId {
    DocId::check_in_log(community, grid, chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"))
}
