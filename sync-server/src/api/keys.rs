//! `GET /v1/keys`: the public keys of the devices enrolled in the asking device's community, so a phone can
//! verify the signatures in a hand-off bundle from any of them. Answered with an `ETag` (SHA-256 of the
//! body); a request whose `If-None-Match` names it gets 304 and no body.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridline_core::sync::protocol::{DeviceKey, KeysResponse};
use sha2::{Digest, Sha256};

use super::App;
use crate::error::{Result, ServerError};

/// Lists the keys of the community's devices (revoked ones flagged).
pub async fn keys(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response> {
    let asked = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    let me = app.device(&headers).await?;
    let devices = app.blocking(move |app| community_keys(app, &me.community_id)).await?;
    let body = serde_json::to_vec(&KeysResponse { devices }).map_err(ServerError::internal)?;
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
    if asked.as_deref() == Some(etag.as_str()) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(([(header::CONTENT_TYPE, "application/json".to_string()), (header::ETAG, etag)], body).into_response())
}

/// The storage access: every device of the community, in a stable order.
fn community_keys(app: &App, community_id: &str) -> Result<Vec<DeviceKey>> {
    let mut keys: Vec<DeviceKey> = app
        .engine()
        .storage()
        .devices()?
        .into_iter()
        .filter(|d| d.community_id == community_id)
        .map(|d| DeviceKey {
            device_id: d.device_id,
            public_key: d.public_key,
            user: d.user,
            role: d.role.code().to_string(),
            revoked: d.revoked,
        })
        .collect();
    keys.sort_by(|a, b| a.device_id.cmp(&b.device_id));
    Ok(keys)
}
