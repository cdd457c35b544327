//! What each fuzz target does with one input. Shared, file for file, by the fuzzers (`fuzz_targets/`) and by
//! `sync-server/tests/fuzz_corpus.rs`, which replays every committed corpus and regression input in the
//! ordinary test run. A panic is a finding; `Err` carries the refusal's stable code.

use gridline_core::model::community::CommunitySettings;
use gridline_core::sync::protocol::{decode_body, SyncRequest};
use gridline_server::validate::{self, MessageLimits};

/// `sync_message`: one Automerge sync message through the server's validator. Whatever the validator
/// accepts, Automerge must decode too.
pub fn sync_message(data: &[u8]) -> Result<(), String> {
    let checked = validate::sync_message(data, &MessageLimits::default()).map_err(|e| e.code.to_string())?;
    let decoded = automerge::sync::Message::decode(data).expect("a validated message decodes");
    assert_eq!(checked.heads, decoded.heads, "validated heads are Automerge's");
    assert_eq!(checked.need, decoded.need, "validated needs are Automerge's");
    Ok(())
}

/// `sync_body`: a `POST /v1/sync` body through the protocol decoder, then every document's message through
/// the validator (an empty message is "nothing to say").
pub fn sync_body(data: &[u8]) -> Result<(), String> {
    let request = decode_body::<SyncRequest>(data).map_err(|e| e.code().to_string())?;
    for doc in &request.docs {
        if !doc.message.is_empty() {
            sync_message(&doc.message)?;
        }
    }
    Ok(())
}

/// `roster_csv`: a roster file through the core's parser, with the default special-care categories.
pub fn roster_csv(data: &[u8]) -> Result<(), String> {
    let settings = CommunitySettings::defaults("fuzz", "", "Asia/Shanghai");
    gridline_core::roster_csv::parse_roster_csv(data, 2026, &|t| settings.category(t).is_some())
        .map(|_| ())
        .map_err(|_| "roster_invalid".to_string())
}
