//! The roster: households (by address, for walking order) and the residents living in them.

use serde::{Deserialize, Serialize};

/// A household (户): one address in one grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Household {
    /// The community's household code (unique in the community).
    pub household_code: String,
    /// Grid code the household belongs to.
    pub grid: String,
    /// Building (楼栋).
    pub building: String,
    /// Unit (单元).
    pub unit: String,
    /// Floor; negative for basements.
    pub floor: i32,
    /// Room (室).
    pub room: String,
    /// True once the household no longer appears in the roster ledger.
    pub moved_out: bool,
}

/// A resident of a household, with their special-care tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Resident {
    /// Household code.
    pub household_code: String,
    /// Name; unique within the household, it identifies the resident across imports.
    pub name: String,
    /// `M` or `F`.
    pub gender: String,
    /// Four-digit birth year.
    pub birth_year: u16,
    /// Phone, if known.
    pub phone: Option<String>,
    /// 18-character resident ID number, if known.
    pub id_number: Option<String>,
    /// Special-care tag codes.
    pub tags: Vec<String>,
    /// Free notes.
    pub notes: String,
    /// True once the resident no longer appears in the roster ledger.
    pub moved_out: bool,
}

impl Resident {
    /// The key of the resident inside its roster document.
    pub fn key(&self) -> String {
        resident_key(&self.household_code, &self.name)
    }
}

/// The key of a resident inside a roster document: household code and name.
pub fn resident_key(household_code: &str, name: &str) -> String {
    format!("{household_code}/{name}")
}
