//! SQL of the `meta` key/value table: the device identity, the community settings (JSON) and the sync
//! bookkeeping's single values.

use rusqlite::{params, Connection, OptionalExtension};

use crate::docs;
use crate::error::{Error, Result};
use crate::model::CommunitySettings;
use crate::store::DeviceInfo;

/// Meta key: the community settings (JSON), a copy of the community document's for fast opening.
const META_SETTINGS: &str = "settings";

/// A meta value, `None` when the key was never set.
pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Sets a meta value (replacing any earlier one).
pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Writes the device identity into `meta`.
pub(crate) fn write_device(conn: &Connection, d: &DeviceInfo) -> Result<()> {
    meta_set(conn, "device_id", &d.device_id)?;
    meta_set(conn, "user", &d.user)?;
    meta_set(conn, "role", d.role.code())?;
    meta_set(conn, "community_id", &d.community_id)?;
    meta_set(conn, "grids", &d.grids.join(";"))?;
    meta_set(conn, "buildings", &d.buildings.join(";"))?;
    Ok(())
}

/// Reads the device identity from `meta`.
pub(crate) fn read_device(conn: &Connection) -> Result<DeviceInfo> {
    let get =
        |k: &str| -> Result<String> { meta_get(conn, k)?.ok_or_else(|| Error::Store(format!("store has no {k}"))) };
    Ok(DeviceInfo {
        device_id: get("device_id")?,
        user: get("user")?,
        role: get("role")?.parse()?,
        community_id: get("community_id")?,
        grids: docs::split_list(&get("grids")?),
        // Stores made before building leads have no entry: no buildings.
        buildings: docs::split_list(&meta_get(conn, "buildings")?.unwrap_or_default()),
    })
}

/// The community settings as last stored, `None` before any were.
pub(crate) fn read_settings(conn: &Connection) -> Result<Option<CommunitySettings>> {
    meta_get(conn, META_SETTINGS)?
        .map(|json| serde_json::from_str(&json).map_err(|e| Error::Store(format!("settings: {e}"))))
        .transpose()
}

/// Stores the community settings (JSON).
pub(crate) fn write_settings(conn: &Connection, settings: &CommunitySettings) -> Result<()> {
    meta_set(conn, META_SETTINGS, &serde_json::to_string(settings).map_err(|e| Error::Store(e.to_string()))?)
}
