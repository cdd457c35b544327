//! `gridline roster …`: the roster ledger.

use std::path::PathBuf;

use clap::Subcommand;
use gridline_core::{Error, Result};

use crate::output::Output;
use crate::Ctx;

/// Roster commands.
#[derive(Subcommand)]
pub enum RosterCommand {
    /// Import a roster CSV ledger (applies only the differences; a malformed row applies nothing).
    Import {
        /// The CSV file.
        file: PathBuf,
    },
}

/// Runs a roster command.
pub fn run(ctx: &Ctx, cmd: RosterCommand) -> Result<Output> {
    match cmd {
        RosterCommand::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| Error::Io(format!("{}: {e}", file.display())))?;
            let mut store = ctx.open()?;
            let s = store.import_roster(&bytes)?;
            let human = format!(
                "households: {} added, {} updated, {} moved out\nresidents: {} added, {} updated, {} moved out",
                s.households.added,
                s.households.updated,
                s.households.moved_out,
                s.residents.added,
                s.residents.updated,
                s.residents.moved_out
            );
            Ok(Output::new(s, human))
        }
    }
}
