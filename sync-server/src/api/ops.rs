//! `GET /healthz` and `GET /metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::App;
use crate::error::Result;

/// Liveness: 200 `ok` once the server listens.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus text.
pub async fn metrics(State(app): State<Arc<App>>) -> Result<impl IntoResponse> {
    let documents = app.blocking(|app| app.engine().storage().document_count()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render(documents)))
}
