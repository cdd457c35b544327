//! Offline hand-off between phones without a server (Wi-Fi Direct, USB): a bundle file carries whole
//! documents (Automerge's compressed format) with the exporting device's Ed25519 signatures over the changes
//! it authored, plus the signatures it holds for changes it relays. Importing validates everything first —
//! format, community, each document's scope, every signature it can check — and then merges all documents
//! through the store's write path in one transaction: a bad bundle applies nothing. Signatures are kept, so
//! the relayed changes go up with the next sync and the server accepts them as their authors'.

use std::collections::HashMap;
use std::path::Path;

use automerge::AutoCommit;
use serde::{Deserialize, Serialize};

use super::protocol::{self, ChangeSignature, MAX_BODY_BYTES};
use super::{signing, state};
use crate::docs::{self, DocId};
use crate::error::{Error, Result};
use crate::store::index;
use crate::Store;

/// Format version of bundle files written by this build.
pub const BUNDLE_FORMAT: u32 = 1;
/// Most documents in one bundle.
pub const MAX_BUNDLE_DOCS: usize = 20_000;

/// The bundle file: CBOR, gzip-compressed (the same encoding as sync bodies, with the same bounds).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Bundle {
    format: u32,
    community_id: String,
    /// The exporting device.
    device_id: String,
    /// Its hex Ed25519 public key.
    public_key: String,
    created_at: String,
    docs: Vec<BundleDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BundleDoc {
    doc_id: String,
    /// The whole document (`AutoCommit::save`).
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
    /// Signatures over the changes of other devices than the importer may know: the exporter's own and the
    /// relayed ones it holds.
    signatures: Vec<ChangeSignature>,
}

/// What an export or import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BundleSummary {
    /// Documents in the bundle.
    pub docs: u32,
    /// Documents that changed here (import only).
    pub docs_changed: u32,
    /// Change signatures carried.
    pub signatures: u32,
    /// Size of the bundle file in bytes.
    pub bytes: u64,
}

/// A document of a bundle, validated and loaded, ready to merge.
struct Checked {
    id: DocId,
    doc: AutoCommit,
    signatures: Vec<ChangeSignature>,
}

impl Store {
    /// Writes every document this device holds into a bundle file for another phone.
    pub fn bundle_export(&mut self, path: &Path) -> Result<BundleSummary> {
        self.bundle_export_for(path, &[])
    }

    /// Writes the documents of `grids` (all documents when empty; the community document always) into a
    /// bundle file.
    pub fn bundle_export_for(&mut self, path: &Path, grids: &[String]) -> Result<BundleSummary> {
        let secret = self.signing_secret()?;
        let device_id = self.device().device_id.clone();
        let own = self.actor().clone();
        let mut docs = Vec::new();
        let mut summary = BundleSummary::default();
        for (text, _) in self.documents()? {
            let id = DocId::parse(&text).map_err(|e| Error::Store(e.to_string()))?;
            if !grids.is_empty() && id.grid.as_ref().is_some_and(|g| !grids.contains(g)) {
                continue;
            }
            let Some(mut doc) = self.load_doc(&id)? else { continue };
            let mut signatures: Vec<ChangeSignature> = doc
                .get_changes_meta(&[])
                .iter()
                .filter(|c| c.actor.as_ref() == &own)
                .map(|c| signing::sign_change(&secret, &device_id, &c.hash))
                .collect();
            signatures.extend(state::signatures(self.conn(), &text)?);
            summary.signatures += signatures.len() as u32;
            docs.push(BundleDoc { doc_id: text, data: doc.save(), signatures });
        }
        if docs.len() > MAX_BUNDLE_DOCS {
            return Err(Error::invalid("bundle", format!("more than {MAX_BUNDLE_DOCS} documents")));
        }
        summary.docs = docs.len() as u32;
        let bundle = Bundle {
            format: BUNDLE_FORMAT,
            community_id: self.device().community_id.clone(),
            device_id,
            public_key: signing::public_key_hex(&secret),
            created_at: self.clock().now().to_rfc3339(),
            docs,
        };
        let bytes = protocol::encode_body(&bundle)?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Error::invalid("bundle", "larger than a bundle may be: export fewer grids"));
        }
        // Written beside the target and renamed: a reader never sees half a bundle.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, &bytes).map_err(|e| Error::Io(format!("{}: {e}", partial.display())))?;
        std::fs::rename(&partial, path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        summary.bytes = bytes.len() as u64;
        Ok(summary)
    }

    /// Imports a bundle written by another phone of the community. Everything is validated before anything
    /// is applied: a malformed bundle fails with `bundle_invalid`, one holding a document outside this
    /// device's scope with `bundle_out_of_scope`, a signature that does not verify with `signature_invalid`.
    pub fn bundle_import(&mut self, path: &Path) -> Result<BundleSummary> {
        let size = std::fs::metadata(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?.len();
        if size > MAX_BODY_BYTES as u64 {
            return Err(Error::BundleInvalid(format!("{size} bytes is larger than a bundle may be")));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        let bundle: Bundle = protocol::decode_body(&bytes).map_err(|e| Error::BundleInvalid(e.to_string()))?;
        let checked = self.check_bundle(&bundle)?;
        let mut summary = BundleSummary { docs: checked.len() as u32, bytes: size, ..BundleSummary::default() };
        let mut merged = Vec::new();
        let mut held = Vec::new();
        for mut c in checked {
            let mut doc = self.checkout_to_receive(&c.id)?;
            let before = doc.get_heads();
            doc.merge(&mut c.doc).map_err(|e| Error::BundleInvalid(format!("{}: {e}", c.id)))?;
            summary.signatures += c.signatures.len() as u32;
            held.push((c.id.to_string(), c.signatures));
            if doc.get_heads() != before {
                summary.docs_changed += 1;
                merged.push((c.id, doc));
            } else {
                // Nothing new: nothing to store or reindex.
                self.give_back(c.id, doc);
            }
        }
        let exporter = (bundle.device_id.clone(), bundle.public_key.clone());
        self.persist(merged, |tx, docs| {
            index::reindex(tx, docs)?;
            for (doc_id, sigs) in &held {
                state::store_signatures(tx, doc_id, sigs)?;
            }
            state::set_device_key(tx, &exporter.0, &exporter.1)
        })?;
        Ok(summary)
    }

    /// Validates a decoded bundle whole; returns its documents loaded, with the signatures worth keeping.
    fn check_bundle(&self, bundle: &Bundle) -> Result<Vec<Checked>> {
        let invalid = |why: String| Error::BundleInvalid(why);
        if bundle.format != BUNDLE_FORMAT {
            return Err(invalid(format!("format {} is not supported", bundle.format)));
        }
        if bundle.community_id != self.device().community_id {
            return Err(Error::BundleOutOfScope("the bundle is from another community".into()));
        }
        if bundle.docs.len() > MAX_BUNDLE_DOCS {
            return Err(invalid(format!("more than {MAX_BUNDLE_DOCS} documents")));
        }
        let exporter = signing::device_actor(&bundle.device_id).map_err(|_| invalid("bad device id".into()))?;
        if let Some(known) = state::device_key(self.conn(), &bundle.device_id)? {
            if known != bundle.public_key {
                return Err(Error::SignatureInvalid(format!("device {} changed its key", bundle.device_id)));
            }
        }
        let own = self.actor().clone();
        let mut keys: HashMap<String, Option<String>> = HashMap::new();
        keys.insert(bundle.device_id.clone(), Some(bundle.public_key.clone()));
        let mut checked = Vec::new();
        for d in &bundle.docs {
            let id = DocId::parse(&d.doc_id).map_err(|e| invalid(e.to_string()))?;
            if !self.doc_in_scope(&id) {
                return Err(Error::BundleOutOfScope(format!("{} is outside this device's scope", d.doc_id)));
            }
            let mut doc = AutoCommit::load(&d.data).map_err(|e| invalid(format!("{}: {e}", d.doc_id)))?;
            docs::check_scope(&id, &doc).map_err(|e| invalid(e.to_string()))?;
            let mut signed = std::collections::HashSet::new();
            let mut keep = Vec::new();
            for sig in &d.signatures {
                let hash = signing::parse_change_hash(&sig.change_hash).map_err(|e| invalid(e.to_string()))?;
                let author = doc
                    .get_change_meta_by_hash(&hash)
                    .map(|m| m.actor.into_owned())
                    .ok_or_else(|| invalid(format!("signature for a change not in {}", d.doc_id)))?;
                if signing::device_actor(&sig.device_id).ok().as_ref() != Some(&author) {
                    return Err(Error::SignatureInvalid(format!(
                        "change {} is not by {}",
                        sig.change_hash, sig.device_id
                    )));
                }
                let key = match keys.get(&sig.device_id) {
                    Some(k) => k.clone(),
                    None => {
                        let k = state::device_key(self.conn(), &sig.device_id)?;
                        keys.insert(sig.device_id.clone(), k.clone());
                        k
                    }
                };
                if let Some(key) = key {
                    signing::verify_change(&key, sig)?;
                }
                signed.insert(hash);
                if author != own {
                    keep.push(sig.clone());
                }
            }
            // Every change the exporter authored must carry its signature: nobody can slip a change into a
            // bundle under the exporter's name.
            if let Some(unsigned) =
                doc.get_changes_meta(&[]).iter().find(|c| c.actor.as_ref() == &exporter && !signed.contains(&c.hash))
            {
                return Err(Error::SignatureInvalid(format!("change {} of the exporter is unsigned", unsigned.hash)));
            }
            checked.push(Checked { id, doc, signatures: keep });
        }
        Ok(checked)
    }
}

#[cfg(all(test, feature = "client"))]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::super::client::NoProgress;
    use super::super::fixtures::{enroll, fast, offline_week, roster_csv, sync};
    use super::super::loopback::LoopbackServer;
    use super::*;

    fn check_ins(store: &Store) -> i64 {
        store.conn().query_row("SELECT count(*) FROM check_in", [], |r| r.get(0)).expect("count")
    }

    fn docs(store: &Store) -> usize {
        store.documents().expect("docs").len()
    }

    /// A server with a roster, two grid-A leaders and a grid-B leader, all synced once, then offline.
    fn phones(dir: &Path) -> (LoopbackServer, [(Store, String); 3]) {
        let server = LoopbackServer::new();
        let (mut committee, tc) = enroll(&server, &dir.join("c"), "c", "committee", &[]);
        committee.import_roster(roster_csv(10).as_bytes()).expect("roster");
        sync(&server, &mut committee, &tc);
        let mut phones = [
            enroll(&server, &dir.join("a1"), "a1", "grid_leader", &["A"]),
            enroll(&server, &dir.join("a2"), "a2", "grid_leader", &["A"]),
            enroll(&server, &dir.join("b"), "b", "grid_leader", &["B"]),
        ];
        for (store, token) in phones.iter_mut() {
            sync(&server, store, token);
        }
        (server, phones)
    }

    #[test]
    fn a_bundle_hands_work_over_and_its_signatures_go_up_with_the_next_sync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, [(mut a1, _), (mut a2, t2), _]) = phones(dir.path());
        offline_week(&mut a1, "A", 4, 10);
        let file = dir.path().join("a1.bundle");
        let out = a1.bundle_export(&file).expect("export");
        assert!(out.signatures >= 7, "{out:?}");
        let got = a2.bundle_import(&file).expect("import");
        assert_eq!(got.docs_changed, 7);
        assert_eq!(check_ins(&a2), 28);
        // Importing again changes nothing.
        assert_eq!(a2.bundle_import(&file).expect("again").docs_changed, 0);
        assert_eq!(check_ins(&a2), 28);
        // a2 relays a1's changes; the peer accepts them only because a1's signatures travel with them.
        let report = sync(&server, &mut a2, &t2);
        assert_eq!(report.docs_sent, 7);
        let day = DocId::check_in_log("c1", "A", chrono::NaiveDate::from_ymd_opt(2026, 11, 17).expect("day"));
        let mut mine = a1.load_doc(&day).expect("load").expect("day doc");
        let mut heads: Vec<String> = mine.get_heads().iter().map(|h| h.to_string()).collect();
        heads.sort();
        assert_eq!(server.heads(&day.to_string()), Some(heads));
    }

    #[test]
    fn relayed_changes_without_signatures_are_refused_by_the_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, [(mut a1, _), (mut a2, t2), _]) = phones(dir.path());
        offline_week(&mut a1, "A", 1, 10);
        let file = dir.path().join("a1.bundle");
        a1.bundle_export(&file).expect("export");
        a2.bundle_import(&file).expect("import");
        a2.with_tx(|tx| Ok(tx.execute("DELETE FROM sync_signature", [])?)).expect("strip");
        let err = a2.sync_with(&server.transport(Some(&t2)), &fast(), &NoProgress, &AtomicBool::new(false));
        assert_eq!(err.map_err(|e| e.code()), Err("forbidden_change"));
    }

    #[test]
    fn out_of_scope_malformed_and_tampered_bundles_apply_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_server, [(mut a1, _), (mut a2, _), (mut b, _)]) = phones(dir.path());
        offline_week(&mut a1, "A", 2, 10);
        let file = dir.path().join("a1.bundle");
        a1.bundle_export(&file).expect("export");

        let before = docs(&b);
        assert_eq!(b.bundle_import(&file).map_err(|e| e.code()), Err("bundle_out_of_scope"));
        assert_eq!((docs(&b), check_ins(&b)), (before, 0));
        // Exported for grid B only, the same work is refused by nobody and carries nothing of A.
        let for_b = dir.path().join("for-b.bundle");
        a1.bundle_export_for(&for_b, &["B".to_string()]).expect("export B");
        b.bundle_import(&for_b).expect("import B");
        assert_eq!(check_ins(&b), 0);

        let bytes = std::fs::read(&file).expect("read");
        let before = docs(&a2);
        for (name, junk) in [
            ("flipped", {
                let mut b = bytes.clone();
                let mid = b.len() / 2;
                b[mid] ^= 0x55;
                b
            }),
            ("truncated", bytes[..bytes.len() / 3].to_vec()),
            ("random", (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, junk).expect("write");
            assert_eq!(a2.bundle_import(&path).map_err(|e| e.code()), Err("bundle_invalid"), "{name}");
        }
        assert_eq!((docs(&a2), check_ins(&a2)), (before, 0));

        // A change slipped in under a1's name (re-encoded so the file itself is well formed) is caught.
        let mut bundle: Bundle = protocol::decode_body(&bytes).expect("decode");
        let target = bundle.docs.iter_mut().find(|d| d.doc_id.starts_with("checkins:")).expect("a day");
        let mut doc = AutoCommit::load(&target.data).expect("load");
        doc.set_actor(signing::device_actor(&a1.device().device_id).expect("actor"));
        docs::put_entity(&mut doc, "checkin/forged", &vec![("note", docs::s("forged"))]).expect("forge");
        target.data = doc.save();
        let forged = dir.path().join("forged.bundle");
        std::fs::write(&forged, protocol::encode_body(&bundle).expect("encode")).expect("write");
        assert_eq!(a2.bundle_import(&forged).map_err(|e| e.code()), Err("signature_invalid"));
        assert_eq!((docs(&a2), check_ins(&a2)), (before, 0));
    }
}
