//! `GET /healthz` (on the API port) and `GET /metrics` (on its own router, served on `--metrics-listen`, by
//! default loopback only: the counters tell an outsider how busy the relay is).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::App;
use crate::error::Result;

/// Liveness: 200 `ok` once the server listens.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus text.
pub async fn metrics(State(app): State<Arc<App>>) -> Result<impl IntoResponse> {
    let documents = app.blocking_own(|app| app.engine().storage().document_count()).await?;
    let mut text = app.metrics.render(documents);
    app.metrics.render_admission(&mut text, &app.admission);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// The metrics router: `GET /metrics` and nothing else.
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(app)
}
