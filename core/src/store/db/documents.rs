//! SQL of the documents' chunks (`doc`, `doc_chunk`): loading a document's bytes, appending a change's
//! chunk with its new heads, compacting a long chain into one snapshot, listing what is held.

use automerge::AutoCommit;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::docs::DocId;
use crate::error::Result;

/// Incremental chunks a document may collect before it is compacted into one snapshot.
pub(crate) const COMPACT_AFTER_CHUNKS: i64 = 64;
/// Largest first chunk kept in its document's row (a report is ≈ 0.7 KiB; a roster import goes to
/// `doc_chunk` at once rather than being copied there by the next write).
const INLINE_HEAD_MAX: usize = 4096;

/// A document's stored bytes (its inline head, then its chunks in order); empty when it is not held.
pub(crate) fn load_bytes(conn: &Connection, id: &DocId) -> Result<Vec<u8>> {
    let mut stmt = conn.prepare_cached(
        "SELECT head FROM doc WHERE doc_id = ?1 AND head IS NOT NULL
         UNION ALL SELECT data FROM (SELECT data FROM doc_chunk WHERE doc_id = ?1 ORDER BY seq)",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    let mut bytes = Vec::new();
    while let Some(row) = rows.next()? {
        let chunk: Vec<u8> = row.get(0)?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Deletes a document's row and chunks; false when it was not held.
pub(crate) fn delete(tx: &Transaction<'_>, id: &DocId) -> Result<bool> {
    let id_text = id.to_string();
    tx.prepare_cached("DELETE FROM doc_chunk WHERE doc_id = ?1")?.execute([&id_text])?;
    Ok(tx.prepare_cached("DELETE FROM doc WHERE doc_id = ?1")?.execute([&id_text])? > 0)
}

/// Every document id held, with its heads as stored (comma-separated hex), by id.
pub(crate) fn list(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT doc_id, heads FROM doc ORDER BY doc_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Stores one chunk of a document and its new heads. A new document's first chunk, when small, stays in its
/// `doc` row (`head`); the next chunk moves it to `doc_chunk`, so only documents written once carry one.
pub(crate) fn write_chunk(
    tx: &Transaction<'_>,
    id: &DocId,
    doc: &mut AutoCommit,
    chunk: &[u8],
    now: &str,
) -> Result<()> {
    let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    let id_text = id.to_string();
    let row: Option<(i64, bool)> = tx
        .prepare_cached("SELECT chunks, head IS NOT NULL FROM doc WHERE doc_id = ?1")?
        .query_row([&id_text], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (chunks, inline) = match row {
        Some(row) => row,
        None => {
            let inline = chunk.len() <= INLINE_HEAD_MAX;
            tx.prepare_cached(
                "INSERT INTO doc (doc_id, kind, grid, key, heads, chunks, bytes, updated_at, local_seq, head)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6 * ?7, ?8, ?6, ?9)",
            )?
            .execute(params![
                id_text,
                id.kind.code(),
                id.grid,
                id.key,
                heads.join(","),
                inline as i64,
                chunk.len() as i64,
                now,
                inline.then_some(chunk)
            ])?;
            if inline {
                return Ok(());
            }
            (0, false)
        }
    };
    if chunks + 1 >= COMPACT_AFTER_CHUNKS {
        let snapshot = doc.save();
        tx.prepare_cached("DELETE FROM doc_chunk WHERE doc_id = ?1")?.execute([&id_text])?;
        tx.prepare_cached("INSERT INTO doc_chunk (doc_id, snapshot, data) VALUES (?1, 1, ?2)")?
            .execute(params![id_text, snapshot])?;
    } else {
        if inline {
            tx.prepare_cached(
                "INSERT INTO doc_chunk (doc_id, snapshot, data) SELECT doc_id, 0, head FROM doc WHERE doc_id = ?1",
            )?
            .execute([&id_text])?;
        }
        tx.prepare_cached("INSERT INTO doc_chunk (doc_id, snapshot, data) VALUES (?1, 0, ?2)")?
            .execute(params![id_text, chunk])?;
    }
    tx.prepare_cached(
        "UPDATE doc SET heads = ?2, chunks = CASE WHEN chunks + 1 >= ?3 THEN 1 ELSE chunks + 1 END,
             bytes = bytes + ?4, updated_at = ?5, local_seq = local_seq + 1, head = NULL
         WHERE doc_id = ?1",
    )?
    .execute(params![id_text, heads.join(","), COMPACT_AFTER_CHUNKS, chunk.len() as i64, now])?;
    Ok(())
}
