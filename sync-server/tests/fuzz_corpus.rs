//! Replays the committed fuzz inputs (`fuzz/corpus/<target>/*`, `fuzz/regressions/<target>/*`) through the
//! same functions the fuzzers run (`fuzz/src/targets.rs`), in the ordinary test run: no input may panic, and
//! every regression input is refused with the code its file name ends with (`<what>--<code>`).
//!
//! `cargo test -p gridline-server --test fuzz_corpus -- --ignored write_seed_inputs` rewrites the seeds:
//! honest messages, bodies, sync requests, bundles and roster files, and the crafted attacks on the server as
//! regressions.

use std::fs;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use automerge::sync::{self, Message, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};
use gridline_core::docs::{self, DocId};
use gridline_core::model::{CheckIn, CheckInKind, CheckInOutcome, NewCheckIn};
use gridline_core::sync::protocol::{encode_body, DocMessage, SyncRequest, PROTOCOL_VERSION};

#[path = "../../fuzz/src/targets.rs"]
mod targets;

type Target = fn(&[u8]) -> Result<(), String>;

const TARGETS: [(&str, Target); 5] = [
    ("sync_message", targets::sync_message),
    ("sync_body", targets::sync_body),
    ("roster_csv", targets::roster_csv),
    ("sync_request", targets::sync_request),
    ("bundle_import", targets::bundle_import),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn run(target: Target, file: &Path) -> Result<Result<(), String>, String> {
    let data = fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    catch_unwind(AssertUnwindSafe(|| target(&data))).map_err(|_| format!("{} panicked", file.display()))
}

#[test]
fn corpus_inputs_never_panic() {
    let mut replayed = 0;
    let mut panics = Vec::new();
    for (name, target) in TARGETS {
        let files = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(!files.is_empty(), "fuzz/corpus/{name} holds no seed inputs");
        for file in files {
            replayed += 1;
            if let Err(p) = run(target, &file) {
                panics.push(p);
            }
        }
    }
    assert!(panics.is_empty(), "{panics:#?}");
    assert!(replayed > 0);
}

#[test]
fn regressions_are_refused_with_their_code() {
    let mut checked = 0;
    for (name, target) in TARGETS {
        for file in inputs(&fuzz_dir().join("regressions").join(name)) {
            let stem = file.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let expected = stem.rsplit_once("--").map(|(_, code)| code.to_string());
            let expected = expected.unwrap_or_else(|| panic!("{stem}: name it <what>--<expected code>"));
            let outcome = run(target, &file).unwrap_or_else(|p| panic!("{p}"));
            assert_eq!(outcome, Err(expected), "{name}/{stem}");
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} regression inputs");
}

// --- Seeds -------------------------------------------------------------------------------------------

fn write(kind: &str, target: &str, name: &str, data: &[u8]) {
    let dir = fuzz_dir().join(kind).join(target);
    fs::create_dir_all(&dir).expect("create fuzz dir");
    fs::write(dir.join(name), data).expect("write seed");
}

fn doc(actor: u8) -> AutoCommit {
    AutoCommit::new().with_actor(ActorId::from([actor; 16]))
}

/// Honest messages: a first message, changes with a Bloom filter, a whole document, compressed changes.
fn honest_messages() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let (mut a, mut b) = (doc(1), doc(2));
    for i in 0..8 {
        a.put(ROOT, format!("household-{i}"), format!("{i}号楼 {}", "住户".repeat(i * 20))).expect("put");
        a.commit();
    }
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    for round in 0..6 {
        if round == 3 {
            b.put(ROOT, "note", "入户走访").expect("put");
            b.commit();
            a.put(ROOT, "roster", "updated").expect("put");
            a.commit();
        }
        if let Some(m) = a.sync().generate_sync_message(&mut sa) {
            out.push((format!("honest-a-{round}"), m.clone().encode()));
            b.sync().receive_sync_message(&mut sb, m).expect("receive");
        }
        if let Some(m) = b.sync().generate_sync_message(&mut sb) {
            out.push((format!("honest-b-{round}"), m.clone().encode()));
            a.sync().receive_sync_message(&mut sa, m).expect("receive");
        }
    }
    let mut compressed = Vec::new();
    for mut c in a.get_changes(&[]) {
        compressed.push(c.bytes().to_vec());
    }
    let msg = Message {
        heads: a.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: compressed.into(),
        flags: None,
        version: sync::MessageVersion::V1,
    };
    out.push(("honest-compressed-changes".into(), msg.encode()));
    let whole = Message {
        heads: a.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: a.save().into(),
        flags: None,
        version: sync::MessageVersion::V2,
    };
    out.push(("honest-whole-document".into(), whole.encode()));
    out
}

fn uleb(v: u64, out: &mut Vec<u8>) {
    leb128::write::unsigned(out, v).expect("writing to a Vec");
}

fn bloom_message(entries: u64, bits_per_entry: u64, probes: u64, bits: usize) -> Vec<u8> {
    let mut f = Vec::new();
    for v in [entries, bits_per_entry, probes] {
        uleb(v, &mut f);
    }
    f.resize(f.len() + bits, 0);
    let mut m = vec![0x42, 0, 0, 1, 0];
    uleb(f.len() as u64, &mut m);
    m.extend(f);
    m.push(0);
    m
}

fn chunk_message(version: u8, chunk: &[u8]) -> Vec<u8> {
    let mut m = vec![version, 0, 0, 0, 1];
    uleb(chunk.len() as u64, &mut m);
    m.extend(chunk);
    m
}

/// The known attacks on the server and their neighbours, with the code each must be refused with.
fn attacks(honest: &[u8], whole_document: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("bloom-probes-2pow32--sync_message_too_large".to_string(), bloom_message(1, 10, u32::MAX.into(), 2)),
        ("bloom-zero-bits-per-entry--malformed_sync_message".into(), bloom_message(1, 0, 7, 0)),
        ("bloom-length-short--malformed_sync_message".into(), bloom_message(10, 10, 7, 12)),
        ("bloom-length-long--malformed_sync_message".into(), bloom_message(10, 10, 7, 14)),
        ("heads-count-huge--sync_message_too_large".into(), vec![0x42, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        ("trailing-junk--malformed_sync_message".into(), [honest, &[0]].concat()),
        ("truncated--malformed_sync_message".into(), honest[..honest.len() / 2].to_vec()),
    ];
    let mut bomb = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..16 {
        bomb.write_all(&zeros).expect("deflate");
    }
    let bomb = bomb.finish().expect("deflate");
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    uleb(bomb.len() as u64, &mut chunk);
    chunk.extend(&bomb);
    out.push(("compressed-change-16mib--sync_message_too_large".into(), chunk_message(0x42, &chunk)));
    // A whole document in a v1 message: the protocol sends documents only in v2 messages.
    let v1 = [&[0x42u8][..], &whole_document[1..]].concat();
    out.push(("document-in-v1-message--malformed_sync_message".into(), v1));
    // A change claiming 2^42 operations in one run of its action column.
    let mut body = vec![0, 16];
    body.extend([7; 16]);
    body.extend([1, 1, 0, 0, 0, 1, 0x42, 8]); // seq, start op, time, message, actors; one column of 8 bytes
    body.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x01]); // a run of 2^42 copies of 1
    let mut head = vec![1u8];
    uleb(body.len() as u64, &mut head);
    let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest([head.as_slice(), &body].concat()).into();
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend(&hash[..4]);
    chunk.extend(head);
    chunk.extend(&body);
    out.push(("change-run-2pow42-ops--sync_message_too_large".into(), chunk_message(0x42, &chunk)));
    out
}

fn body(messages: &[&[u8]]) -> Vec<u8> {
    let docs = messages
        .iter()
        .enumerate()
        .map(|(i, m)| DocMessage { doc_id: format!("roster:c{i}:G01"), message: m.to_vec(), signatures: vec![] })
        .collect();
    encode_body(&SyncRequest { protocol: PROTOCOL_VERSION, cursor: 3, docs }).expect("encode body")
}

#[test]
#[ignore = "rewrites fuzz/corpus and fuzz/regressions seeds"]
fn write_seed_inputs() {
    let messages = honest_messages();
    for (name, m) in &messages {
        assert_eq!(targets::sync_message(m), Ok(()), "{name}");
        write("corpus", "sync_message", name, m);
    }
    let honest = &messages.iter().find(|(n, _)| n == "honest-a-1").expect("a second message").1;
    let whole = &messages.iter().find(|(n, _)| n == "honest-whole-document").expect("whole document").1;
    let attacks = attacks(honest, whole);
    for (name, m) in &attacks {
        write("regressions", "sync_message", name, m);
    }
    let all: Vec<&[u8]> = messages.iter().map(|(_, m)| m.as_slice()).collect();
    write("corpus", "sync_body", "honest-all-documents", &body(&all));
    write("corpus", "sync_body", "honest-one-document", &body(&all[..1]));
    write("corpus", "sync_body", "honest-empty-message", &body(&[&[]]));
    write("corpus", "sync_body", "not-gzip", b"{\"protocol\":1}");
    let bloom = &attacks[0].1;
    write("regressions", "sync_body", "bloom-probes-in-body--sync_message_too_large", &body(&[all[0], bloom]));
    write("regressions", "sync_body", "zero-bits-in-body--malformed_sync_message", &body(&[&attacks[1].1]));
    // Hand-made rather than the kit's synthetic roster: these seeds vary the CSV syntax (quoted notes over
    // two lines) and their committed bytes stay as they are when rewritten.
    let header = gridline_testkit::roster::csv(&[]);
    let mut roster = header.clone();
    for n in 0..12 {
        let notes = if n % 4 == 0 { "\"独居, 需要\n每周走访\"" } else { "" };
        roster.push_str(&format!(
            "G01,{b},1,{f},{f}0{n},G01-H{n},居民{n},F,1948,,,elderly_alone,{notes}\n",
            b = n % 3 + 1,
            f = n % 6 + 1
        ));
    }
    write("corpus", "roster_csv", "honest-12-households.csv", roster.as_bytes());
    write("corpus", "roster_csv", "header-only.csv", header.as_bytes());
    write("corpus", "roster_csv", "bom-crlf.csv", format!("\u{feff}{}", roster.replace('\n', "\r\n")).as_bytes());
    write(
        "corpus",
        "roster_csv",
        "bad-utf8.csv",
        &[header.as_bytes(), b"G01,1,1,1,101,G01-H1,\xff,F,1948,,,,\n"].concat(),
    );
    write(
        "corpus",
        "roster_csv",
        "unclosed-quote.csv",
        format!("{header}G01,1,1,1,101,G01-H1,\"A,F,1948,,,,\n").as_bytes(),
    );
    write_sync_request_seeds(&messages, &attacks);
    write_bundle_seeds();
}

/// A sync request of the `sync_request` fixture's device.
fn request(cursor: u64, docs: Vec<DocMessage>) -> Vec<u8> {
    encode_body(&SyncRequest { protocol: PROTOCOL_VERSION, cursor, docs }).expect("encode body")
}

fn doc_message(id: &DocId, message: Vec<u8>) -> DocMessage {
    DocMessage { doc_id: id.to_string(), message, signatures: vec![] }
}

/// The fixture day's check-in log of `grid`, as the fixture's device writes it: `n` honest check-ins.
fn check_in_log(grid: &str, n: usize) -> (DocId, AutoCommit) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let id = DocId::check_in_log(targets::SYNC_COMMUNITY, grid, day);
    let actor = gridline_core::sync::signing::device_actor(targets::SYNC_DEVICE).expect("actor");
    let mut doc = docs::new_document(&id, &actor).expect("new document");
    for i in 0..n {
        let c = CheckIn {
            check_in_id: format!("01935c00-0000-7000-8000-0000000a{i:04}"),
            household_code: format!("{grid}-H{}", i % 5),
            grid: grid.into(),
            kind: CheckInKind::Door,
            outcome: CheckInOutcome::Well,
            note: format!("入户走访 {i}"),
            photos: vec![],
            location: None,
            at: chrono::DateTime::parse_from_rfc3339("2026-11-24T09:30:00+08:00").expect("time"),
            author: targets::SYNC_USER.into(),
            device_id: targets::SYNC_DEVICE.into(),
        };
        docs::checkin_log::append(&mut doc, &c).expect("append");
        doc.commit();
    }
    (id, doc)
}

/// A v2 message carrying every change of `doc`, the way the core client pushes a document it never synced.
fn push_message(doc: &mut AutoCommit) -> Vec<u8> {
    let chunk: Vec<u8> = doc.get_changes(&[]).iter().flat_map(|c| c.raw_bytes().to_vec()).collect();
    Message {
        heads: doc.get_heads(),
        need: vec![],
        have: vec![sync::Have { last_sync: vec![], bloom: Default::default() }],
        changes: vec![chunk].into(),
        flags: None,
        version: sync::MessageVersion::V2,
    }
    .encode()
}

/// `sync_request` seeds: an honest check-in round, and the message attacks addressed to the device's own log.
fn write_sync_request_seeds(messages: &[(String, Vec<u8>)], attacks: &[(String, Vec<u8>)]) {
    let roster = DocId::roster(targets::SYNC_COMMUNITY, targets::SYNC_GRID);
    let (log, mut doc) = check_in_log(targets::SYNC_GRID, 3);
    let first = doc.sync().generate_sync_message(&mut sync::State::new()).expect("a first message").encode();
    let empty_first =
        AutoCommit::new().sync().generate_sync_message(&mut sync::State::new()).expect("a first message").encode();
    let honest = [
        ("honest-first-contact", request(0, vec![])),
        ("honest-roster-first-message", request(0, vec![doc_message(&roster, empty_first)])),
        ("honest-log-first-message", request(0, vec![doc_message(&log, first)])),
        ("honest-check-in-round", request(0, vec![doc_message(&log, push_message(&mut doc))])),
    ];
    for (name, body) in &honest {
        assert_eq!(targets::sync_request(body), Ok(()), "{name}");
        write("corpus", "sync_request", name, body);
    }
    // The same requests as plain CBOR (the target gzips them): what mutations of the CBOR start from.
    for (name, body) in &honest[1..] {
        let cbor = gunzip(body);
        assert_eq!(targets::sync_request(&cbor), Ok(()), "{name}");
        write("corpus", "sync_request", &format!("{name}.cbor"), &cbor);
    }
    let mut refused: Vec<(String, Vec<u8>)> = attacks
        .iter()
        .map(|(name, m)| {
            let what = name.rsplit_once("--").map_or(name.as_str(), |(what, _)| what);
            (what.to_string(), request(1, vec![doc_message(&log, m.clone())]))
        })
        .collect();
    // Beside the attacks: an honest message for a grid the device does not lead, a check-in in another
    // device's name, and a protocol the server does not speak.
    let (other_grid, mut other) = check_in_log("G02", 1);
    refused.push(("other-grid".into(), request(1, vec![doc_message(&other_grid, push_message(&mut other))])));
    let (_, mut stranger) = check_in_log(targets::SYNC_GRID, 1);
    stranger.set_actor(ActorId::from([9u8; 16]));
    docs::put_entity(&mut stranger, "checkin/planted", &vec![("note", docs::s("planted"))]).expect("put");
    stranger.commit();
    refused.push(("change-by-another-actor".into(), request(1, vec![doc_message(&log, push_message(&mut stranger))])));
    let honest_message = messages.first().expect("a message").1.clone();
    let v2 = encode_body(&SyncRequest { protocol: PROTOCOL_VERSION + 1, cursor: 0, docs: vec![] }).expect("encode");
    refused.push(("protocol-next".into(), v2));
    refused.push(("not-gzip".into(), b"{\"protocol\":1}".to_vec()));
    refused.push((
        "document-id-junk".into(),
        request(
            1,
            vec![DocMessage { doc_id: "roster:../../etc:G01".into(), message: honest_message, signatures: vec![] }],
        ),
    ));
    for (what, body) in refused {
        let code = targets::sync_request(&body).expect_err(&what);
        assert!(!code.contains("internal"), "{what}: {code}");
        write("regressions", "sync_request", &format!("{what}--{code}"), &body);
    }
}

/// `bundle_import` seeds: an honest bundle from another store of the fixture's community, and damaged ones.
fn write_bundle_seeds() {
    let dir = std::env::temp_dir().join(format!("gridline-fuzz-seeds-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut exporter = targets::bundle_store(&dir.join("exporter"), "fuzz-exporter").expect("store");
    for (i, household) in ["A000", "A001", "B002"].into_iter().enumerate() {
        exporter
            .check_in(NewCheckIn {
                household_code: household.into(),
                kind: CheckInKind::Door,
                outcome: CheckInOutcome::Well,
                note: format!("第{i}次 精神很好"),
                photos: vec![],
                location: None,
                at: None,
            })
            .expect("check-in");
    }
    let file = dir.join("exporter.bundle");
    exporter.bundle_export(&file).expect("export");
    let honest = fs::read(&file).expect("read bundle");
    let _ = fs::remove_dir_all(&dir);
    assert!(honest.len() < 40_000, "{} bytes", honest.len());
    assert_eq!(targets::bundle_import(&honest), Ok(()), "the honest bundle imports");
    write("corpus", "bundle_import", "honest", &honest);
    let inner = gunzip(&honest);
    assert_eq!(targets::bundle_import(&inner), Ok(()), "the honest bundle as plain CBOR imports");
    write("corpus", "bundle_import", "honest.cbor", &inner);
    let gzip = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("gzip");
        e.finish().expect("gzip")
    };
    let mut damaged = vec![
        ("truncated".to_string(), honest[..honest.len() / 2].to_vec()),
        ("outer-byte-flipped".to_string(), flip(&honest, honest.len() / 3)),
        ("inner-truncated".to_string(), gzip(&inner[..inner.len() * 2 / 3])),
    ];
    for at in [inner.len() / 5, inner.len() / 2, inner.len() * 4 / 5] {
        damaged.push((format!("inner-byte-{at}-flipped"), gzip(&flip(&inner, at))));
    }
    let other = "01935c00-0000-7000-8000-00000000c0ff";
    let text = String::from_utf8_lossy(&inner).into_owned();
    assert!(text.contains(targets::BUNDLE_COMMUNITY));
    let replaced = replace_bytes(&inner, targets::BUNDLE_COMMUNITY.as_bytes(), other.as_bytes());
    damaged.push(("another-community".into(), gzip(&replaced)));
    for (what, data) in damaged {
        match targets::bundle_import(&data) {
            Ok(()) => write("corpus", "bundle_import", &what, &data),
            Err(code) => write("regressions", "bundle_import", &format!("{what}--{code}"), &data),
        }
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).expect("gunzip");
    out
}

fn flip(data: &[u8], at: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    out[at] ^= 0x55;
    out
}

fn replace_bytes(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}
