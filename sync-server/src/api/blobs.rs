//! `PUT`, `HEAD` and `GET /v1/blobs/{sha256}`: photos by hash. Uploads are idempotent (a retry of the whole
//! body is the resume); downloads only of blobs the device uploaded or that a document in its scope names.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridline_core::sync::protocol::MAX_BLOB_BYTES;
use sha2::{Digest, Sha256};

use super::{authenticate, read_body, App};
use crate::error::{Result, ServerError};
use crate::metrics::Metrics;

fn check_hash(sha256: &str) -> Result<()> {
    if sha256.len() == 64 && sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ServerError::bad_request("invalid_blob_hash", "the blob name must be 64 lowercase hex characters"))
    }
}

/// Uploads a blob: 201 when stored, 200 when it was already there.
pub async fn put_blob(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    check_hash(&sha256)?;
    let auth_headers = headers.clone();
    let device = app.blocking(move |app| authenticate(&mut app.engine(), &auth_headers)).await?;
    let bytes = read_body(&headers, body, MAX_BLOB_BYTES, "blob_too_large").await?;
    Metrics::add(&app.metrics.bytes_in, bytes.len() as u64);
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Err(ServerError::bad_request("blob_hash_mismatch", "the body does not hash to the blob's name"));
    }
    app.blocking(move |app| {
        let mut engine = app.engine();
        if engine.storage().blob_exists(&sha256)? {
            return Ok(StatusCode::OK);
        }
        engine.storage().put_blob(&sha256, &bytes, &device.device_id)?;
        Metrics::add(&app.metrics.blobs_stored, 1);
        Ok(StatusCode::CREATED)
    })
    .await
}

/// 200 when the server holds the blob (the device skips its upload), 404 otherwise.
pub async fn head_blob(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    check_hash(&sha256)?;
    app.blocking(move |app| {
        let mut engine = app.engine();
        authenticate(&mut engine, &headers)?;
        Ok(if engine.storage().blob_exists(&sha256)? { StatusCode::OK } else { StatusCode::NOT_FOUND })
    })
    .await
}

/// The blob's bytes, if the device may read it; 404 `not_found` otherwise (whether or not it exists).
pub async fn get_blob(State(app): State<Arc<App>>, Path(sha256): Path<String>, headers: HeaderMap) -> Result<Response> {
    check_hash(&sha256)?;
    let bytes = app
        .blocking(move |app| {
            let mut engine = app.engine();
            let device = authenticate(&mut engine, &headers)?;
            let storage = engine.storage();
            let not_found = || ServerError::not_found(format!("blob {sha256} not found"));
            if !storage.blob_readable(&sha256, &device.device_id, &device.read_scope())? {
                return Err(not_found());
            }
            storage.blob(&sha256)?.ok_or_else(not_found)
        })
        .await?;
    Metrics::add(&app.metrics.bytes_out, bytes.len() as u64);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
