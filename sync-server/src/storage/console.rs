//! What the triage console keeps beside the documents: staff accounts (each with its own actor, registered
//! as a device so that an action in the console passes the same checks as a phone's), sign-in sessions, the
//! first-admin setup link, the audit log, saved views and response templates.

use gridline_core::model::Role;

use super::{Community, Device};
use crate::error::Result;

/// A staff account of the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Staff id (UUID v7): also the id of the account's device row and its Automerge actor.
    pub staff_id: String,
    /// Community the account works in.
    pub community_id: String,
    /// Sign-in name (unique on the server).
    pub user: String,
    /// Role: committee, station, street or admin.
    pub role: Role,
    /// True once an admin disabled the account.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// A sign-in session (only the hash of its cookie value is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the session cookie's value.
    pub token_hash: String,
    /// The signed-in account.
    pub staff_id: String,
    /// The CSRF token every state-changing request of this session must carry.
    pub csrf: String,
    /// Unix seconds of the sign-in (the absolute expiry counts from here).
    pub created_at: i64,
    /// Unix seconds of the last request (the idle expiry counts from here).
    pub last_seen: i64,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Row id (newest is largest); 0 for a new entry.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Community concerned (empty for server-wide events).
    pub community_id: String,
    /// Sign-in name of whoever acted (or tried to sign in).
    pub user: String,
    /// What happened: a stable code (`sign_in`, `sign_in_failed`, `incident_act`, `reveal`, …).
    pub action: String,
    /// What it was done to (an incident id, a household, a device id).
    pub target: String,
    /// Free detail (the action taken, the reason given for a reveal).
    pub detail: String,
    /// Client address.
    pub address: String,
}

/// A saved queue view, shared within a community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    /// View id (UUID v7).
    pub view_id: String,
    /// Community.
    pub community_id: String,
    /// Name shown in the list.
    pub name: String,
    /// The queue's query string (filters).
    pub query: String,
    /// Who saved it.
    pub created_by: String,
}

/// A response template: a note staff write again and again, per incident category and action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseTemplate {
    /// Template id (UUID v7).
    pub template_id: String,
    /// Community.
    pub community_id: String,
    /// Incident category code, or empty for every category.
    pub category: String,
    /// Action code.
    pub action: String,
    /// The note text.
    pub text: String,
}

/// The console's storage; every method is one transaction.
pub trait ConsoleStorage: Send + Sync {
    /// Every community, oldest first.
    fn communities(&self) -> Result<Vec<Community>>;

    /// Creates a staff account and its device row in one transaction; false when the name is taken.
    fn create_staff(&self, staff: &Staff, password_hash: &str, device: &Device) -> Result<bool>;
    /// An account and its password hash by sign-in name.
    fn staff_by_user(&self, user: &str) -> Result<Option<(Staff, String)>>;
    /// An account by id.
    fn staff(&self, staff_id: &str) -> Result<Option<Staff>>;
    /// Every account (of one community, or all).
    fn staff_list(&self, community_id: Option<&str>) -> Result<Vec<Staff>>;
    /// How many accounts exist.
    fn staff_count(&self) -> Result<u64>;
    /// Sets an account's password hash and ends its sessions; false when there is no such account.
    fn set_staff_password(&self, staff_id: &str, password_hash: &str) -> Result<bool>;
    /// Disables an account: ends its sessions and revokes its device row, so nothing it signed is accepted.
    fn disable_staff(&self, staff_id: &str) -> Result<bool>;

    /// Stores a new session.
    fn put_session(&self, session: &Session) -> Result<()>;
    /// A session by the hash of its cookie value.
    fn session(&self, token_hash: &str) -> Result<Option<Session>>;
    /// Records a request of the session.
    fn touch_session(&self, token_hash: &str, last_seen: i64) -> Result<()>;
    /// Ends a session.
    fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Stores the first-admin setup link's hash, valid until `expires_at` (replacing any earlier one).
    fn put_setup_token(&self, token_hash: &str, expires_at: i64) -> Result<()>;
    /// Uses the setup link up: true once, when it exists, is unexpired and no account exists yet.
    fn take_setup_token(&self, token_hash: &str, now: i64) -> Result<bool>;
    /// Whether a setup link with this hash is usable now (shown before the form is filled in).
    fn setup_token_valid(&self, token_hash: &str, now: i64) -> Result<bool>;

    /// Appends to the audit log.
    fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The newest audit entries of a community (server-wide ones included), older than `before` when given.
    fn audit(&self, community_id: &str, before: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>>;

    /// Counts a failed sign-in against each of `keys` (an account, an address): a key's count starts again
    /// once `window` seconds passed since its first failure. Keys whose window ended are forgotten, so the
    /// table holds only the last window's keys. Shared by every instance on the storage.
    fn throttle_failed(&self, keys: &[&str], now: i64, window: i64) -> Result<()>;
    /// The failures counted against `key` in its current window (0 once the window ended).
    fn throttle_failures(&self, key: &str, now: i64, window: i64) -> Result<u32>;
    /// Forgets a key's failures (an account that signed in).
    fn throttle_clear(&self, key: &str) -> Result<()>;

    /// Saves a queue view.
    fn put_view(&self, view: &SavedView) -> Result<()>;
    /// A community's saved views, by name.
    fn views(&self, community_id: &str) -> Result<Vec<SavedView>>;
    /// Deletes a saved view of a community.
    fn delete_view(&self, community_id: &str, view_id: &str) -> Result<bool>;

    /// Saves (adds or replaces by id) a response template.
    fn put_template(&self, template: &ResponseTemplate) -> Result<()>;
    /// A community's response templates.
    fn templates(&self, community_id: &str) -> Result<Vec<ResponseTemplate>>;
    /// Deletes a response template of a community.
    fn delete_template(&self, community_id: &str, template_id: &str) -> Result<bool>;
}
