//! One-time enrollment codes: issued by an admin for a user, role and scope; redeemed once by a device for
//! its id and token. Only hashes of codes and tokens are stored.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use gridline_core::docs::valid_code;
use gridline_core::model::Role;
use gridline_core::sync::protocol::{EnrollRequest, EnrollResponse};
use gridline_core::ErrorCode;

use gridline_core::sync::signing::valid_public_key;

use crate::access::{hash_secret, new_token};
use crate::error::{Result, ServerError};
use crate::storage::{Device, EnrollmentCode, Storage};

/// How long a code stays valid.
pub const CODE_VALIDITY_HOURS: i64 = 72;

/// Crockford base-32 (no I, L, O, U: nothing to misread when a code is typed from paper).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_code() -> Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(ServerError::internal)?;
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[usize::from(b % 32)] as char).collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    Ok(groups.join("-"))
}

/// A typed code in canonical form: upper case, separators dropped, look-alike letters mapped.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// A newly issued code (shown once) and its expiry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedCode {
    /// The code to give the user.
    pub code: String,
    /// RFC 3339 expiry.
    pub expires_at: String,
}

/// Issues a code for `user` with `role` in `community_id`, scoped to `grids` (required for grid-scoped roles,
/// ignored for community-wide ones, refused for a volunteer, who reaches no grid: only the service orders
/// dispatched to it).
pub fn issue(
    storage: &dyn Storage,
    community_id: &str,
    user: &str,
    role: Role,
    grids: &[String],
    now: DateTime<Utc>,
) -> Result<IssuedCode> {
    issue_for_buildings(storage, community_id, user, role, grids, &[], now)
}

/// [`issue`] with a building lead's buildings: a building lead names one grid and one to 32 buildings of it,
/// every other role none (`store::check_buildings`, the rule the device's own store applies too).
pub fn issue_for_buildings(
    storage: &dyn Storage,
    community_id: &str,
    user: &str,
    role: Role,
    grids: &[String],
    buildings: &[String],
    now: DateTime<Utc>,
) -> Result<IssuedCode> {
    let buildings: Vec<String> = buildings.iter().map(|b| b.trim().to_string()).collect();
    gridline_core::store::check_buildings(role, grids, &buildings)
        .map_err(|e| ServerError::bad_request(ErrorCode::InvalidInput, e.to_string()))?;
    if storage.community(community_id)?.is_none() {
        return Err(ServerError::not_found(format!("community {community_id:?} not found")));
    }
    let user = user.trim();
    if user.is_empty() || user.chars().count() > 100 {
        return Err(ServerError::bad_request(ErrorCode::InvalidInput, "user: 1 to 100 characters"));
    }
    if let Some(bad) = grids.iter().find(|g| !valid_code(g)) {
        return Err(ServerError::bad_request(ErrorCode::InvalidInput, format!("grid: bad grid code {bad:?}")));
    }
    if role.is_grid_scoped() && grids.is_empty() {
        return Err(ServerError::bad_request(
            ErrorCode::InvalidInput,
            format!("grid: role {} needs --grid", role.code()),
        ));
    }
    if role == Role::Volunteer && !grids.is_empty() {
        return Err(ServerError::bad_request(
            ErrorCode::InvalidInput,
            "grid: a volunteer covers no grid (it receives only the service orders dispatched to it)",
        ));
    }
    let grids = if role.is_grid_scoped() { grids.to_vec() } else { Vec::new() };
    let code = new_code()?;
    let expires = now + chrono::Duration::hours(CODE_VALIDITY_HOURS);
    storage.insert_enrollment_code(&EnrollmentCode {
        code_hash: hash_secret(&normalise(&code)),
        community_id: community_id.to_string(),
        user: user.to_string(),
        role,
        grids,
        buildings,
        expires_at: expires.timestamp(),
        used_by: None,
    })?;
    Ok(IssuedCode { code, expires_at: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
}

/// Redeems a code: registers the device with its public key and returns its id and token.
pub fn redeem(storage: &dyn Storage, req: &EnrollRequest, now: DateTime<Utc>) -> Result<EnrollResponse> {
    redeem_as(storage, req, &uuid::Uuid::now_v7().to_string(), now)
}

/// [`redeem`] registering the device under a given device id (a UUID): fixtures whose inputs carry changes
/// authored by the device.
pub fn redeem_as(
    storage: &dyn Storage,
    req: &EnrollRequest,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<EnrollResponse> {
    if uuid::Uuid::parse_str(device_id).is_err() {
        return Err(ServerError::bad_request(
            ErrorCode::InvalidInput,
            format!("device id: {device_id:?} is not a UUID"),
        ));
    }
    if !valid_public_key(&req.public_key) {
        return Err(ServerError::bad_request(ErrorCode::InvalidPublicKey, "public_key: not a hex Ed25519 public key"));
    }
    let code_hash = hash_secret(&normalise(&req.code));
    let invalid = || ServerError::bad_request(ErrorCode::EnrollCodeInvalid, "this enrollment code is not known");
    let used =
        || ServerError::new(StatusCode::CONFLICT, ErrorCode::EnrollCodeUsed, "this enrollment code was already used");
    let code = storage.enrollment_code(&code_hash)?.ok_or_else(invalid)?;
    if code.used_by.is_some() {
        return Err(used());
    }
    if code.expires_at < now.timestamp() {
        return Err(ServerError::new(
            StatusCode::GONE,
            ErrorCode::EnrollCodeExpired,
            "this enrollment code has expired",
        ));
    }
    let token = new_token()?;
    let device = Device {
        device_id: device_id.to_string(),
        community_id: code.community_id.clone(),
        user: code.user.clone(),
        role: code.role,
        grids: code.grids.clone(),
        buildings: code.buildings.clone(),
        public_key: req.public_key.to_ascii_lowercase(),
        revoked: false,
    };
    if !storage.redeem_enrollment_code(&code_hash, &device, &hash_secret(&token))? {
        return Err(used());
    }
    Ok(EnrollResponse {
        device_id: device.device_id,
        token,
        user: device.user,
        role: device.role.code().to_string(),
        community_id: device.community_id,
        grids: device.grids,
        buildings: device.buildings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_forgivingly() {
        let code = new_code().expect("code");
        assert_eq!(code.len(), 14);
        assert_eq!(normalise(&code.to_lowercase().replace('-', " ")), normalise(&code));
        assert_eq!(normalise("oil-0"), "0110");
    }
}
