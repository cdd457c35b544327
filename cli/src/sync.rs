//! `gridline enroll`, `gridline sync`, `gridline bundle export|import`: the device's link to the server and
//! to other phones.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};
use gridline_core::sync::{SyncProgress, SyncReport, SyncStage};
use gridline_core::{Error, Result, Store};
use serde_json::json;

use crate::output::Output;
use crate::Ctx;

/// `enroll` arguments.
#[derive(Args)]
pub struct EnrollArgs {
    /// Server base URL: https://…, or http:// to this machine (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    server: String,
    /// The one-time enrollment code an admin issued.
    #[arg(long)]
    code: String,
    /// Allow plain http:// to a host that is not loopback (kept with the enrollment). Anyone on the path can
    /// read and alter the traffic; a revocation received this way does not erase the store.
    #[arg(long)]
    insecure_http: bool,
}

/// `sync` arguments.
#[derive(Args)]
pub struct SyncArgs {
    /// Offer the documents the server refused earlier again (they are otherwise left out until asked).
    #[arg(long)]
    retry_refused: bool,
}

/// Enrolls this device with a server and creates its store (and key file when none exists).
pub fn enroll(ctx: &Ctx, args: EnrollArgs) -> Result<Output> {
    let key = ctx.prepare_new_store()?;
    let store = Store::enroll(&ctx.store, &key, &args.server, &args.code, args.insecure_http, ctx.clock.clone())?;
    let d = store.device();
    let human = format!(
        "enrolled device {} for {} ({}) with {}; grids: {}",
        d.device_id,
        d.user,
        d.role.code(),
        args.server,
        if d.grids.is_empty() { "whole community".to_string() } else { d.grids.join(", ") }
    );
    let mut answer = json!({"device_id": d.device_id, "user": d.user, "role": d.role.code(),
        "community_id": d.community_id, "grids": d.grids, "server": args.server, "insecure_http": args.insecure_http});
    if !d.buildings.is_empty() {
        answer["buildings"] = json!(d.buildings);
    }
    Ok(Output::new(answer, human))
}

/// Progress on stderr for people (never with `--json`, whose stdout is one document).
struct StderrProgress;

impl SyncProgress for StderrProgress {
    fn on_progress(&self, stage: SyncStage, so_far: &SyncReport) {
        match stage {
            SyncStage::Documents { round, pending } => eprintln!(
                "round {round}: {} documents sent, {} received, {pending} pending, {} B up, {} B down",
                so_far.docs_sent, so_far.docs_received, so_far.bytes_up, so_far.bytes_down
            ),
            SyncStage::Blobs { done, total } => eprintln!("photos {done}/{total}"),
        }
    }
}

struct Quiet;

impl SyncProgress for Quiet {
    fn on_progress(&self, _: SyncStage, _: &SyncReport) {}
}

/// Syncs with the server. A revoked device's store is wiped (the key file too when it lives in the store).
/// Documents the server refused are listed (`refused`) and left out until `--retry-refused`; the server's
/// decisions on this device's redemptions that arrived are listed too (`redemptions_decided`).
pub fn sync(ctx: &Ctx, args: SyncArgs, json_output: bool) -> Result<Output> {
    let mut store = ctx.open()?;
    if args.retry_refused {
        store.retry_refused()?;
    }
    let progress: &dyn SyncProgress = if json_output { &Quiet } else { &StderrProgress };
    let report = match store.sync(progress, &AtomicBool::new(false)) {
        Err(Error::DeviceRevoked) => {
            if ctx.key_file.starts_with(&ctx.store) {
                let _ = std::fs::remove_file(&ctx.key_file);
            }
            return Err(Error::DeviceRevoked);
        }
        other => other?,
    };
    let refused = store.refused_documents()?;
    let mut human = format!(
        "{} round trips; documents: {} sent, {} received; {} B up, {} B down; photos: {} up, {} down{}",
        report.round_trips,
        report.docs_sent,
        report.docs_received,
        report.bytes_up,
        report.bytes_down,
        report.blobs_up,
        report.blobs_down,
        if report.blobs_failed > 0 { format!(", {} waiting for retry", report.blobs_failed) } else { String::new() }
    );
    if !refused.is_empty() {
        human.push_str(&format!(
            "\n{} documents refused by the server, left out until `gridline sync --retry-refused`:",
            refused.len()
        ));
        for r in &refused {
            let change = r.change_hash.as_deref().map(|h| format!(" (change {h})")).unwrap_or_default();
            human.push_str(&format!("\n  {}{change}: {}: {}", r.doc_id, r.code, r.message));
        }
    }
    for r in &report.redemptions_decided {
        human.push_str(&format!(
            "\nredemption {}: {} × {} for {} — {}",
            r.redemption_id,
            r.quantity,
            r.item,
            r.volunteer,
            r.status.code()
        ));
    }
    let mut doc = serde_json::to_value(report).map_err(|e| Error::Io(e.to_string()))?;
    doc["refused"] = json!(refused
        .iter()
        .map(|r| json!({"doc_id": r.doc_id, "change_hash": r.change_hash, "code": r.code, "message": r.message}))
        .collect::<Vec<_>>());
    Ok(Output::new(doc, human))
}

/// Bundle commands.
#[derive(Subcommand)]
pub enum BundleCommand {
    /// Write this device's documents to a file for another phone.
    Export {
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
        /// Only these grids (repeatable; default: every document held).
        #[arg(long = "grid")]
        grids: Vec<String>,
    },
    /// Merge a bundle from another phone (validated whole; nothing is applied from a bad one).
    Import {
        /// The bundle file.
        file: PathBuf,
    },
}

/// Runs a bundle command.
pub fn bundle(ctx: &Ctx, cmd: BundleCommand) -> Result<Output> {
    let mut store = ctx.open()?;
    match cmd {
        BundleCommand::Export { out, grids } => {
            let s = store.bundle_export_for(&out, &grids)?;
            let human =
                format!("{} documents, {} signatures, {} bytes → {}", s.docs, s.signatures, s.bytes, out.display());
            Ok(Output::new(json!({"docs": s.docs, "signatures": s.signatures, "bytes": s.bytes, "file": out}), human))
        }
        BundleCommand::Import { file } => {
            let s = store.bundle_import(&file)?;
            let human = format!("{} documents, {} changed here", s.docs, s.docs_changed);
            Ok(Output::new(json!({"docs": s.docs, "docs_changed": s.docs_changed, "signatures": s.signatures}), human))
        }
    }
}
