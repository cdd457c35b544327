//! Offline hand-off between phones without a server (Wi-Fi Direct, USB): a bundle file carries whole
//! documents (Automerge's compressed format) with the exporting device's Ed25519 signatures over the changes
//! it authored, plus the signatures it holds for changes it relays. Importing validates everything first —
//! format, community, each document's scope, and a verified signature on every change the receiver does not
//! hold yet and did not author — and then merges all documents through the store's write path in one
//! transaction: a bad bundle applies nothing. Signatures are kept, so the relayed changes go up with the next
//! sync and the server accepts them as their authors'.
//!
//! The keys a signature may verify against: the exporter's, as the bundle presents it, unless a key already
//! known for that device contradicts it or the server listed the device as revoked; a key the server listed
//! (`GET /v1/keys`, learned at every sync); a key an earlier verified bundle presented. A change nobody can
//! sign (the server's own, such as a roster import) is trusted only once the receiver holds it, so a phone
//! that missed server changes the exporter has syncs before it can take the bundle.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use automerge::AutoCommit;
use serde::{Deserialize, Serialize};

use super::protocol::{self, ChangeSignature, MAX_BODY_BYTES};
use super::signing;
use crate::docs::{self, DocId};
use crate::error::{Error, Result};
use crate::store::db::sync_state as state;
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
    /// bundle file. Documents the server alone writes are left out (`DocKind::server_written`): a building's
    /// projection is for that building's leads alone, so no other phone could take a bundle holding it, and a
    /// lead gets its own from the server.
    pub fn bundle_export_for(&mut self, path: &Path, grids: &[String]) -> Result<BundleSummary> {
        let secret = self.signing_secret()?;
        let device_id = self.device().device_id.clone();
        let own = self.actor().clone();
        let mut docs = Vec::new();
        let mut summary = BundleSummary::default();
        for (text, _) in self.documents()? {
            let id = DocId::parse(&text).map_err(|e| Error::Store(e.to_string()))?;
            if id.kind.server_written() {
                continue;
            }
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
        signing::device_actor(&bundle.device_id).map_err(|_| invalid("bad device id".into()))?;
        if !signing::valid_public_key(&bundle.public_key) {
            return Err(Error::SignatureInvalid(format!("device {} presents a malformed key", bundle.device_id)));
        }
        if state::device_revoked(self.conn(), &bundle.device_id)? {
            return Err(Error::SignatureInvalid(format!("device {} was revoked", bundle.device_id)));
        }
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
            let keep = self.check_new_changes(&id, &mut doc, &d.signatures, &own, &mut keys)?;
            checked.push(Checked { id, doc, signatures: keep });
        }
        Ok(checked)
    }

    /// Every change of a bundled document that this device neither holds nor authored must carry a
    /// signature by its author that verifies against a trusted key. Returns those signatures (to keep).
    fn check_new_changes(
        &self,
        id: &DocId,
        doc: &mut AutoCommit,
        signatures: &[ChangeSignature],
        own: &automerge::ActorId,
        keys: &mut HashMap<String, Option<String>>,
    ) -> Result<Vec<ChangeSignature>> {
        let held: HashSet<automerge::ChangeHash> = match self.load_doc(id)? {
            Some(mut mine) => mine.get_changes_meta(&[]).iter().map(|c| c.hash).collect(),
            None => HashSet::new(),
        };
        let by_hash: HashMap<&str, &ChangeSignature> = signatures.iter().map(|s| (s.change_hash.as_str(), s)).collect();
        let mut keep = Vec::new();
        for change in doc.get_changes_meta(&[]) {
            if change.actor.as_ref() == own {
                continue;
            }
            let hash = change.hash.to_string();
            let sig = by_hash.get(hash.as_str()).copied();
            if held.contains(&change.hash) {
                // Already trusted here; a signature for it is kept only if it verifies (it goes up with a
                // relayed change the server refused for lack of one).
                if let Some(sig) = sig.filter(|s| self.trusted_signature(s, &change.actor, keys).is_ok()) {
                    keep.push(sig.clone());
                }
                continue;
            }
            let sig =
                sig.ok_or_else(|| Error::SignatureInvalid(format!("{id}: change {hash} carries no signature")))?;
            self.trusted_signature(sig, &change.actor, keys)
                .map_err(|e| Error::SignatureInvalid(format!("{id}: {e}")))?;
            keep.push(sig.clone());
        }
        Ok(keep)
    }

    /// Checks that `sig` is by the change's author and verifies against a key this device trusts for it.
    fn trusted_signature(
        &self,
        sig: &ChangeSignature,
        author: &automerge::ActorId,
        keys: &mut HashMap<String, Option<String>>,
    ) -> Result<()> {
        if signing::device_actor(&sig.device_id).ok().as_ref() != Some(author) {
            return Err(Error::SignatureInvalid(format!("change {} is not by {}", sig.change_hash, sig.device_id)));
        }
        let key = match keys.get(&sig.device_id) {
            Some(k) => k.clone(),
            None => {
                let k = state::device_key(self.conn(), &sig.device_id)?;
                keys.insert(sig.device_id.clone(), k.clone());
                k
            }
        };
        let key = key.ok_or_else(|| {
            Error::SignatureInvalid(format!(
                "change {} is signed by {}, whose key is not known here",
                sig.change_hash, sig.device_id
            ))
        })?;
        signing::verify_change(&key, sig)
    }
}

#[cfg(all(test, feature = "client"))]
mod tests {
    use super::super::fixtures::{enroll, offline_today, offline_week, roster_csv, sync};
    use super::super::loopback::LoopbackServer;
    use super::*;

    fn check_ins(store: &Store) -> i64 {
        store.conn().query_row("SELECT count(*) FROM check_in", [], |r| r.get(0)).expect("count")
    }

    fn docs(store: &Store) -> usize {
        store.documents().expect("docs").len()
    }

    /// Every document the store holds, byte for byte.
    fn snapshot(store: &Store) -> Vec<(String, Vec<u8>)> {
        let mut all = Vec::new();
        for (text, _) in store.documents().expect("docs") {
            let id = DocId::parse(&text).expect("id");
            let bytes = store.load_doc(&id).expect("load").map(|mut d| d.save()).unwrap_or_default();
            all.push((text, bytes));
        }
        all
    }

    /// Rewrites `file` with one change added to its first check-in day, authored by `device_id` and signed
    /// with `secret` when given.
    fn forge(file: &Path, out: &Path, device_id: &str, secret: Option<&[u8; signing::SECRET_KEY_LEN]>) {
        let mut bundle: Bundle = protocol::decode_body(&std::fs::read(file).expect("read")).expect("decode");
        let target = bundle.docs.iter_mut().find(|d| d.doc_id.starts_with("checkins:")).expect("a day");
        let mut doc = AutoCommit::load(&target.data).expect("load");
        doc.set_actor(signing::device_actor(device_id).expect("actor"));
        docs::put_entity(&mut doc, "checkin/planted", &vec![("note", docs::s("planted"))]).expect("forge");
        doc.commit();
        if let Some(secret) = secret {
            let head = doc.get_heads()[0];
            target.signatures.push(signing::sign_change(secret, device_id, &head));
        }
        target.data = doc.save();
        std::fs::write(out, protocol::encode_body(&bundle).expect("encode")).expect("write");
    }

    #[test]
    fn a_change_by_a_third_device_unsigned_or_signed_with_an_unknown_key_refuses_the_import_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_server, [(mut a1, _), (mut a2, _), (b, _)]) = phones(dir.path());
        offline_week(&mut a1, "A", 2, 10);
        let file = dir.path().join("a1.bundle");
        a1.bundle_export(&file).expect("export");
        let before = snapshot(&a2);
        // Unsigned, under another grid leader's name (b's: a device the receiver knows from the server).
        let unsigned = dir.path().join("unsigned.bundle");
        forge(&file, &unsigned, &b.device().device_id, None);
        assert_eq!(a2.bundle_import(&unsigned).map_err(|e| e.code()), Err(crate::ErrorCode::SignatureInvalid));
        assert_eq!(snapshot(&a2), before, "nothing applied");
        // Signed by a device nobody knows, with its own fresh key: the signature verifies, the key is not
        // trusted.
        let stranger = uuid::Uuid::now_v7().to_string();
        let unknown = dir.path().join("unknown.bundle");
        forge(&file, &unknown, &stranger, Some(&signing::generate_secret().expect("secret")));
        assert_eq!(a2.bundle_import(&unknown).map_err(|e| e.code()), Err(crate::ErrorCode::SignatureInvalid));
        // Signed in b's name with a key that is not b's.
        let impostor = dir.path().join("impostor.bundle");
        forge(&file, &impostor, &b.device().device_id, Some(&signing::generate_secret().expect("secret")));
        assert_eq!(a2.bundle_import(&impostor).map_err(|e| e.code()), Err(crate::ErrorCode::SignatureInvalid));
        assert_eq!(snapshot(&a2), before, "nothing applied");
        assert_eq!(check_ins(&a2), 0);
        // The honest bundle still goes in.
        a2.bundle_import(&file).expect("import");
        assert_eq!(check_ins(&a2), 14);
    }

    #[test]
    fn relayed_changes_verify_against_keys_learned_from_the_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, [(mut a1, _), (mut a2, _), _]) = phones(dir.path());
        let (mut a3, t3) = enroll(&server, &dir.path().join("a3"), "a3", "grid_leader", &["A"]);
        sync(&server, &mut a3, &t3);
        offline_week(&mut a1, "A", 1, 10);
        let first = dir.path().join("a1.bundle");
        a1.bundle_export(&first).expect("export");
        a2.bundle_import(&first).expect("a2 takes a1's work");
        // a2 relays a1's changes to a3: a3 verifies a1's signatures with the key the server listed.
        let second = dir.path().join("a2.bundle");
        a2.bundle_export(&second).expect("export");
        let forget = |s: &mut Store| {
            s.with_tx(|tx| Ok(tx.execute_batch("DELETE FROM device_key; DELETE FROM meta WHERE key = 'keys_etag'")?))
                .expect("forget keys")
        };
        forget(&mut a3);
        assert_eq!(
            a3.bundle_import(&second).map_err(|e| e.code()),
            Err(crate::ErrorCode::SignatureInvalid),
            "a1's key unknown"
        );
        sync(&server, &mut a3, &t3);
        a3.bundle_import(&second).expect("a1's key learned at sync");
        assert_eq!(check_ins(&a3), 7);
        // A device the server lists as revoked is no longer trusted, even as the exporter.
        server.revoke(&a1.device().device_id);
        let (mut a4, t4) = enroll(&server, &dir.path().join("a4"), "a4", "grid_leader", &["A"]);
        sync(&server, &mut a4, &t4);
        assert_eq!(a4.bundle_import(&first).map_err(|e| e.code()), Err(crate::ErrorCode::SignatureInvalid));
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
    fn relayed_changes_without_signatures_are_refused_and_set_aside_without_wedging_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, [(mut a1, _), (mut a2, t2), _]) = phones(dir.path());
        offline_week(&mut a1, "A", 1, 10);
        let file = dir.path().join("a1.bundle");
        a1.bundle_export(&file).expect("export");
        a2.bundle_import(&file).expect("import");
        a2.with_tx(|tx| Ok(tx.execute("DELETE FROM sync_signature", [])?)).expect("strip");
        // Today's own work is in another document: it still goes up.
        offline_today(&mut a2);
        let report = sync(&server, &mut a2, &t2);
        assert_eq!((report.docs_set_aside, report.docs_sent), (7, 1), "{report:?}");
        let refused = a2.refused_documents().expect("refused");
        assert_eq!(refused.len(), 7);
        assert!(refused.iter().all(|r| r.code == "forbidden_change" && r.change_hash.is_some()), "{refused:?}");
        assert_eq!(server.doc_ids().iter().filter(|id| id.starts_with("checkins:")).count(), 1, "today's day");
        // Not retried by the next sync: nothing goes up, nothing is refused again.
        let again = sync(&server, &mut a2, &t2);
        assert_eq!((again.round_trips, again.docs_sent, again.docs_set_aside), (1, 0, 0), "{again:?}");
        assert_eq!(a2.sync_status().expect("status").refused.len(), 7);
        // The signatures come back with the bundle; the user retries and the relayed work goes up.
        a2.bundle_import(&file).expect("import again");
        assert_eq!(a2.retry_refused().expect("retry"), 7);
        let retried = sync(&server, &mut a2, &t2);
        assert_eq!((retried.docs_sent, retried.docs_set_aside), (7, 0), "{retried:?}");
        assert!(a2.refused_documents().expect("refused").is_empty());
    }

    #[test]
    fn out_of_scope_malformed_and_tampered_bundles_apply_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_server, [(mut a1, _), (mut a2, _), (mut b, _)]) = phones(dir.path());
        offline_week(&mut a1, "A", 2, 10);
        let file = dir.path().join("a1.bundle");
        a1.bundle_export(&file).expect("export");

        let before = docs(&b);
        assert_eq!(b.bundle_import(&file).map_err(|e| e.code()), Err(crate::ErrorCode::BundleOutOfScope));
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
            assert_eq!(a2.bundle_import(&path).map_err(|e| e.code()), Err(crate::ErrorCode::BundleInvalid), "{name}");
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
        assert_eq!(a2.bundle_import(&forged).map_err(|e| e.code()), Err(crate::ErrorCode::SignatureInvalid));
        assert_eq!((docs(&a2), check_ins(&a2)), (before, 0));
    }
}
