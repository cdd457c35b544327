//! Staff accounts of the console: created, re-passworded, disabled and listed by `admin staff …` and by the
//! console's admin pages. Passwords are hashed with argon2id (a fresh salt each); each account is also a
//! device row with its own id and actor, so its actions pass the same checks as a phone's.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use gridline_core::model::Role;
use gridline_core::ErrorCode;
use serde_json::{json, Value};

use crate::error::{Result, ServerError};
use crate::storage::{Device, Staff, Storage};

/// Roles a console account may hold.
pub const STAFF_ROLES: [Role; 4] = [Role::Committee, Role::Station, Role::Street, Role::Admin];
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 work is bounded by the input).
pub const MAX_PASSWORD_CHARS: usize = 256;

fn invalid(message: impl Into<String>) -> ServerError {
    ServerError::bad_request(ErrorCode::InvalidInput, message)
}

/// Checks a password's length.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(invalid(format!("password: {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

/// The argon2id hash (PHC string) of a password.
pub fn hash_password(password: &str) -> Result<String> {
    check_password(password)?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(ServerError::internal)?;
    let salt = SaltString::encode_b64(&bytes).map_err(ServerError::internal)?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(ServerError::internal)
}

/// Whether `password` matches a stored hash (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the account does not exist, so that a wrong name costs as much time as a
/// wrong password (no account discovery by timing).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-never-used").unwrap_or_default())
}

/// The device row of an account: its id is the account's, so changes by the account's actor are its own.
pub fn device_of(staff: &Staff) -> Device {
    Device {
        device_id: staff.staff_id.clone(),
        community_id: staff.community_id.clone(),
        user: staff.user.clone(),
        role: staff.role,
        grids: vec![],
        buildings: vec![],
        public_key: String::new(),
        revoked: staff.disabled,
    }
}

/// Creates an account (`admin staff add`): `{"staff_id","user","role"}`.
pub fn add(
    storage: &dyn Storage,
    community_id: &str,
    user: &str,
    role: &str,
    password: &str,
    now: i64,
) -> Result<Value> {
    let role: Role = role.parse().map_err(|_| invalid(format!("role: unknown role {role:?}")))?;
    if !STAFF_ROLES.contains(&role) {
        return Err(invalid(format!(
            "role: {} is a phone role; console roles are committee, station, street, admin",
            role.code()
        )));
    }
    let user = user.trim();
    if user.is_empty() || user.chars().count() > 64 || user.chars().any(char::is_control) {
        return Err(invalid("user: a name of 1 to 64 characters is required"));
    }
    if storage.community(community_id)?.is_none() {
        return Err(ServerError::not_found(format!("community {community_id:?} not found")));
    }
    let staff = Staff {
        staff_id: uuid::Uuid::now_v7().to_string(),
        community_id: community_id.to_string(),
        user: user.to_string(),
        role,
        disabled: false,
        created_at: now,
    };
    let hash = hash_password(password)?;
    if !storage.create_staff(&staff, &hash, &device_of(&staff))? {
        return Err(invalid(format!("user: {user:?} already has an account")));
    }
    Ok(json!({ "staff_id": staff.staff_id, "user": staff.user, "role": staff.role }))
}

fn by_user(storage: &dyn Storage, user: &str) -> Result<Staff> {
    storage.staff_by_user(user)?.map(|(s, _)| s).ok_or_else(|| ServerError::not_found(format!("no account {user:?}")))
}

/// Sets an account's password (`admin staff passwd`); its sessions end.
pub fn passwd(storage: &dyn Storage, user: &str, password: &str) -> Result<Value> {
    let staff = by_user(storage, user)?;
    storage.set_staff_password(&staff.staff_id, &hash_password(password)?)?;
    Ok(json!({ "staff_id": staff.staff_id, "user": staff.user }))
}

/// Disables an account (`admin staff disable`): its sessions end and its actor may write nothing more.
pub fn disable(storage: &dyn Storage, user: &str) -> Result<Value> {
    let staff = by_user(storage, user)?;
    storage.disable_staff(&staff.staff_id)?;
    Ok(json!({ "staff_id": staff.staff_id, "user": staff.user, "disabled": true }))
}

/// Lists accounts (`admin staff list`).
pub fn list(storage: &dyn Storage, community_id: Option<&str>) -> Result<Value> {
    let items: Vec<Value> = storage
        .staff_list(community_id)?
        .into_iter()
        .map(|s| {
            json!({
                "staff_id": s.staff_id, "community_id": s.community_id, "user": s.user, "role": s.role,
                "disabled": s.disabled,
            })
        })
        .collect();
    Ok(json!({ "items": items }))
}
