//! The triage console under `/console/`: server-rendered pages (askama templates compiled into the binary,
//! assets embedded, no JavaScript build step) for committee, station and street staff. One file per view;
//! beside them `session.rs` (sign-in, cookies, CSRF, throttling, the audit log), `i18n.rs` (zh-Hans first,
//! English) and `replica.rs` (the community-wide device store every view reads).
//!
//! Nothing here derives a stage, a deadline, a rate or a balance: the views read the replica, which is the
//! core's own store over the server's documents; an action is prepared by the core's store as a change by the
//! staff account's actor and stored by the engine after the same checks as a phone's (see `replica.rs`).

mod admin;
mod assets;
mod bulk;
mod chart;
mod config;
mod dashboard;
mod duplicates;
mod events;
mod household;
mod i18n;
mod incident;
mod ledger;
mod login;
mod needs;
mod orders;
mod page;
mod phones;
mod projects;
mod queue;
pub mod replica;
mod responses;
mod roster;
pub mod session;
mod shop;
mod surveys;
mod views;

use std::path::Path;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;

use crate::api::App;
use crate::error::Result;

pub use login::announce_setup_link;
pub use replica::Changed;

/// The console's shared state.
pub struct Console {
    /// The relay's state: engine, storage, clock.
    pub app: Arc<App>,
    /// Community-wide replicas, one per community.
    pub replicas: replica::Replicas,
    /// Documents merged into a replica, for the pages' live updates.
    pub changed: broadcast::Sender<Changed>,
    /// Dashboards computed, kept while the replica is unchanged.
    pub dashboards: dashboard::DashboardCache,
    /// Password checks run one at a time (see `login::submit`).
    pub password_checks: tokio::sync::Semaphore,
    /// Whether cookies carry `Secure` (the server speaks TLS, or a TLS proxy fronts it).
    pub secure_cookies: bool,
    /// Becomes true when the server shuts down: live-update streams end so that shutdown does not wait on them.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl Console {
    /// The console over `app`, keeping replicas under `dir`.
    pub fn new(app: Arc<App>, dir: &Path, secure_cookies: bool) -> Result<Console> {
        let (changed, _) = broadcast::channel(256);
        Ok(Console {
            replicas: replica::Replicas::open(dir, app.clock.clone())?,
            app,
            changed,
            password_checks: tokio::sync::Semaphore::new(1),
            dashboards: dashboard::DashboardCache::default(),
            secure_cookies,
            stopping: tokio::sync::watch::channel(false).1,
        })
    }

    /// The same console, ending its live-update streams when `stopping` becomes true.
    pub fn stopping_with(mut self, stopping: tokio::sync::watch::Receiver<bool>) -> Console {
        self.stopping = stopping;
        self
    }

    /// Runs blocking work (storage, replica) off the async threads.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Console) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let console = self.clone();
        tokio::task::spawn_blocking(move || f(&console)).await.map_err(crate::error::ServerError::internal)?
    }
}

/// The console's routes under `/console`.
pub fn router(console: Arc<Console>) -> Router {
    Router::new().nest("/console", routes(console))
}

fn routes(console: Arc<Console>) -> Router {
    // Each view adds its own routes; keep one line per view.
    Router::new()
        .merge(login::routes())
        .merge(queue::routes())
        .merge(incident::routes())
        .merge(dashboard::routes())
        .merge(roster::routes())
        .merge(phones::routes())
        .merge(ledger::routes())
        .merge(bulk::routes())
        .merge(views::routes())
        .merge(responses::routes())
        .merge(household::routes())
        .merge(admin::routes())
        .merge(orders::routes())
        .merge(shop::routes())
        .merge(config::routes())
        .merge(needs::routes())
        .merge(projects::routes())
        .merge(surveys::routes())
        .route("/events", get(events::stream))
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// Headers on every console response: scripts and styles only from the console itself, no framing by other
/// sites (clickjacking), no MIME sniffing, no referrer outside, and pages not kept in shared caches.
async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{self, HeaderValue};
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The router type every view's `routes()` returns.
pub(crate) type Routes = Router<Arc<Console>>;
