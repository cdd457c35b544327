//! `POST /v1/enroll`: a one-time code and a public key for a device id and token.

use gridline_core::ErrorCode;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use gridline_core::sync::protocol::{EnrollRequest, EnrollResponse};

use super::{read_body, App};
use crate::error::{Result, ServerError};

const MAX_ENROLL_BYTES: usize = 16 * 1024;

/// Redeems an enrollment code.
pub async fn enroll(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Result<Json<EnrollResponse>> {
    let bytes = read_body(&headers, body, MAX_ENROLL_BYTES, ErrorCode::BodyTooLarge).await?;
    let req: EnrollRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ServerError::bad_request(ErrorCode::MalformedBody, e.to_string()))?;
    let res = app
        .blocking(move |app| {
            let now = app.clock.now();
            crate::enrollment::redeem(app.engine().storage(), &req, now)
        })
        .await?;
    tracing::info!(device_id = %res.device_id, role = %res.role, "device enrolled");
    Ok(Json(res))
}
