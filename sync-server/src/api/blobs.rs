//! `PUT`, `HEAD` and `GET /v1/blobs/{sha256}`: photos by hash. Uploads are idempotent (a retry of the whole
//! body is the resume). A blob belongs to a scope: a device may read it only when it uploaded it, or when a
//! document it may read names it and one of the blob's uploaders may write that document — a hash copied
//! into another grid's document grants nothing, and no answer tells a device whether a blob outside its
//! scope exists.

use gridline_core::ErrorCode;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridline_core::docs::DocId;
use gridline_core::sync::protocol::MAX_BLOB_BYTES;
use sha2::{Digest, Sha256};

use super::{read_body, App};
use crate::engine::Engine;
use crate::error::{Result, ServerError};
use crate::metrics::Metrics;
use crate::storage::Device;

/// Most uploaders and naming documents looked at per blob (bounded work per request).
const MAX_BLOB_LINKS: usize = 256;

fn check_hash(sha256: &str) -> Result<()> {
    if sha256.len() == 64 && sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ServerError::bad_request(ErrorCode::InvalidBlobHash, "the blob name must be 64 lowercase hex characters"))
    }
}

/// True when `device` may read the blob (see the module doc).
pub fn blob_readable(engine: &Engine, device: &Device, sha256: &str) -> Result<bool> {
    let uploaders = engine.storage().blob_uploaders(sha256, MAX_BLOB_LINKS)?;
    if uploaders.contains(&device.device_id) {
        return Ok(true);
    }
    let storage = engine.storage();
    named_by_its_uploaders(engine, sha256, &uploaders, |d| {
        device.may_read(d)
            || dispatched_to(storage, device, d).unwrap_or(false)
            || in_buildings(storage, device, d).unwrap_or(false)
    })
}

/// True when `d` is an incident or a service order whose stored building is one of `device`'s (a building
/// lead reaches those only so).
fn in_buildings(storage: &dyn crate::storage::Storage, device: &Device, d: &DocId) -> Result<bool> {
    if !device.scope().reaches_by_building(d) {
        return Ok(false);
    }
    Ok(device.reaches_building(d, storage.building(&d.to_string())?.as_deref()))
}

/// True when `d` is a service order dispatched now to `device`'s user (a volunteer reaches it only so): the
/// order's audience as stored with its last write.
fn dispatched_to(storage: &dyn crate::storage::Storage, device: &Device, d: &DocId) -> Result<bool> {
    if !device.scope().reaches_by_assignment(d) {
        return Ok(false);
    }
    Ok(storage.audience(&d.to_string())?.is_some_and(|volunteer| volunteer == device.user))
}

/// True when a document the reader may read (`may_read`) names the blob and one of the blob's uploaders may
/// write that document: the rule every reader of photos shares (devices here, console staff by community).
pub fn blob_in_scope(engine: &Engine, sha256: &str, may_read: impl Fn(&DocId) -> bool) -> Result<bool> {
    let uploaders = engine.storage().blob_uploaders(sha256, MAX_BLOB_LINKS)?;
    named_by_its_uploaders(engine, sha256, &uploaders, may_read)
}

fn named_by_its_uploaders(
    engine: &Engine,
    sha256: &str,
    uploaders: &[String],
    may_read: impl Fn(&DocId) -> bool,
) -> Result<bool> {
    let storage = engine.storage();
    let readable: Vec<DocId> = storage
        .blob_documents(sha256, MAX_BLOB_LINKS)?
        .iter()
        .filter_map(|d| DocId::parse(d).ok())
        .filter(|d| may_read(d))
        .collect();
    if readable.is_empty() {
        return Ok(false);
    }
    for uploader in uploaders {
        let Some(u) = storage.device(uploader)? else { continue };
        for d in &readable {
            if u.may_write(d) || dispatched_to(storage, &u, d)? || in_buildings(storage, &u, d)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Uploads a blob: 201 when this device's upload is recorded, 200 when this device had uploaded it before.
/// Whether another device uploaded the same bytes is never revealed.
pub async fn put_blob(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    check_hash(&sha256)?;
    let device = app.device(&headers).await?;
    let bytes = read_body(&headers, body, MAX_BLOB_BYTES, ErrorCode::BlobTooLarge).await?;
    Metrics::add(&app.metrics.bytes_in, bytes.len() as u64);
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Err(ServerError::bad_request(ErrorCode::BlobHashMismatch, "the body does not hash to the blob's name"));
    }
    app.blocking(move |app| {
        let engine = app.engine();
        let storage = engine.storage();
        if storage.blob_uploaders(&sha256, MAX_BLOB_LINKS)?.contains(&device.device_id) {
            return Ok(StatusCode::OK);
        }
        let now = app.clock.now();
        let quotas = engine.quotas();
        storage
            .put_blob(
                &sha256,
                &bytes,
                &device.device_id,
                now.timestamp().div_euclid(86_400),
                quotas.blob_bytes_per_day,
            )?
            .map_err(|exceeded| quotas.refusal(exceeded, now))?;
        Metrics::add(&app.metrics.blobs_stored, 1);
        Ok(StatusCode::CREATED)
    })
    .await
}

/// 200 when the device may read the blob (it skips its upload), 404 otherwise.
pub async fn head_blob(
    State(app): State<Arc<App>>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    check_hash(&sha256)?;
    let device = app.device(&headers).await?;
    app.blocking(move |app| {
        let engine = app.engine();
        let found = engine.storage().blob_exists(&sha256)? && blob_readable(engine, &device, &sha256)?;
        Ok(if found { StatusCode::OK } else { StatusCode::NOT_FOUND })
    })
    .await
}

/// The blob's bytes, if the device may read it; 404 `not_found` otherwise (whether or not it exists).
pub async fn get_blob(State(app): State<Arc<App>>, Path(sha256): Path<String>, headers: HeaderMap) -> Result<Response> {
    check_hash(&sha256)?;
    let device = app.device(&headers).await?;
    let bytes = app
        .blocking(move |app| {
            let engine = app.engine();
            let not_found = || ServerError::not_found(format!("blob {sha256} not found"));
            if !blob_readable(engine, &device, &sha256)? {
                return Err(not_found());
            }
            engine.storage().blob(&sha256)?.ok_or_else(not_found)
        })
        .await?;
    Metrics::add(&app.metrics.bytes_out, bytes.len() as u64);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
