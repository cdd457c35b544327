//! `POST /v1/sync`: one round of Automerge sync messages for many documents, plus the catalogue.

use gridline_core::ErrorCode;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use gridline_core::sync::protocol::{decode_body, encode_body, SyncRequest, MAX_BODY_BYTES};

use super::{read_body, App};
use crate::error::{Result, ServerError};
use crate::metrics::Metrics;

/// One sync round (CBOR + gzip both ways). The device is authenticated and rate-limited before its body is
/// read.
pub async fn sync(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Result<Response> {
    let device = app.device(&headers).await?;
    let bytes = read_body(&headers, body, MAX_BODY_BYTES, ErrorCode::BodyTooLarge).await?;
    Metrics::add(&app.metrics.bytes_in, bytes.len() as u64);
    let out = app
        .blocking(move |app| {
            let req: SyncRequest =
                decode_body(&bytes).map_err(|e| ServerError::bad_request(ErrorCode::MalformedBody, e.to_string()))?;
            let (res, stats) = app.engine().sync(&device, req, app.clock.now())?;
            Metrics::add(&app.metrics.sync_rounds, 1);
            Metrics::add(&app.metrics.missing_dependencies, stats.missing_dependencies);
            Metrics::add(&app.metrics.docs_written, stats.docs_written);
            Metrics::add(&app.metrics.changes_stored, stats.changes_stored);
            encode_body(&res).map_err(ServerError::internal)
        })
        .await?;
    Metrics::add(&app.metrics.bytes_out, out.len() as u64);
    Ok(([(header::CONTENT_TYPE, "application/cbor"), (header::CONTENT_ENCODING, "gzip")], out).into_response())
}
