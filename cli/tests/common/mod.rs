//! What the CLI's scenario tests share: a device is a store directory driven through the built `gridline`
//! binary, at a time the test sets (`GRIDLINE_NOW`), and documents are handed between devices' stores as
//! sync does. Each test binary uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use gridline_core::docs::DocId;
use gridline_core::store::{index, read_key_file};
use gridline_core::{Store, SystemClock};
use serde_json::Value;

/// The morning the scenarios start on.
pub const NOW: &str = "2026-11-24T09:00:00+08:00";

/// One device: a store directory driven through the CLI.
pub struct Device {
    pub dir: PathBuf,
}

impl Device {
    /// Runs `gridline --store DIR [--json] ARGS` at `now`; returns success, stdout and stderr.
    pub fn raw(&self, now: &str, json: bool, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridline"));
        cmd.arg("--store").arg(&self.dir);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.args(args).env("GRIDLINE_NOW", now).output().expect("run gridline");
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    /// Runs `ARGS` in JSON at `now`; returns success and the one JSON document on stdout.
    pub fn try_at(&self, now: &str, args: &[&str]) -> (bool, Value) {
        let (ok, stdout, _) = self.raw(now, true, args);
        let doc: Value = serde_json::from_str(stdout.trim()).expect("one JSON document on stdout");
        (ok, doc)
    }

    /// Runs `ARGS` at `now`, which must succeed; returns its JSON.
    pub fn run_at(&self, now: &str, args: &[&str]) -> Value {
        let (ok, doc) = self.try_at(now, args);
        assert!(ok, "gridline {args:?} failed: {doc}");
        doc
    }

    /// Runs `ARGS` at [`NOW`], which must succeed; returns its JSON.
    pub fn run(&self, args: &[&str]) -> Value {
        self.run_at(NOW, args)
    }

    /// Runs `ARGS` at [`NOW`], which must be refused; returns the error code.
    pub fn refused(&self, args: &[&str]) -> String {
        let (ok, doc) = self.try_at(NOW, args);
        assert!(!ok, "gridline {args:?} should fail: {doc}");
        doc["error"]["code"].as_str().expect("error code").to_string()
    }

    /// Opens the device's store directly (to hand documents over as sync does).
    pub fn open(&self) -> Store {
        let key = read_key_file(&self.dir.join("store.key")).expect("key");
        Store::open(&self.dir, &key, Arc::new(SystemClock)).expect("open store")
    }

    /// Hands the document `doc_id` from this device's store to `to`'s and reindexes it (what sync does).
    pub fn hand_over(&self, to: &Device, doc_id: &str) {
        let id = DocId::parse(doc_id).expect("doc id");
        let mut theirs = self.open().load_doc(&id).expect("load").expect("document exists");
        let mut target = to.open();
        let mut mine = target.checkout(&id).expect("checkout");
        mine.merge(&mut theirs).expect("merge");
        target.persist(vec![(id, mine)], index::reindex).expect("persist");
    }
}

/// Initialises device `name` under `root` as `user` in `role` (plus `extra` init flags); returns it and
/// `init`'s JSON.
pub fn init(root: &Path, name: &str, user: &str, role: &str, extra: &[&str]) -> (Device, Value) {
    let device = Device { dir: root.join(name) };
    let mut args = vec!["init", "--user", user, "--role", role];
    args.extend_from_slice(extra);
    let info = device.run(&args);
    (device, info)
}
