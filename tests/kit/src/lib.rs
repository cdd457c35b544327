//! The test kit every Gridline test and bench shares: synthetic rosters and the roster header
//! ([`roster`]), the real `gridline-server` process on loopback with one bounded readiness probe
//! ([`server`]), a minimal device speaking the sync protocol with Automerge directly ([`device`]), and a
//! seeded random generator for replayable runs ([`rng`]), a staff member's console client ([`console`]), and
//! fresh databases on the test PostgreSQL cluster ([`postgres`]).

pub mod console;
pub mod device;
pub mod postgres;
pub mod rng;
pub mod roster;
pub mod server;

pub use console::{csrf_of, StaffClient};
pub use device::{check_in_by, log_id, Device, CHECK_IN_AT};
pub use postgres::TestDatabase;
pub use rng::Rng;
pub use roster::{Codes, Roster, Tags, ROSTER_HEADER};
pub use server::{admin, api_error, chunked, free_port, legacy, Server, ServerBin, ServerOptions};
