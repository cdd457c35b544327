//! Photos and other blobs, addressed by SHA-256, kept inside the encrypted store (so a lost phone leaks no
//! photo of a resident's home) and queued for upload.
// Parts of this module serve only the sync client (feature `client`); the server's replica builds without it.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use sha2::{Digest, Sha256};

use super::{clock_text, db, Store, MAX_PHOTOS};
use crate::error::{Error, Result};

/// Largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// The image type of `bytes` from its magic number, if it is one we accept.
pub fn image_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"msf1")
    {
        Some("image/heic")
    } else {
        None
    }
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Store {
    /// Stores a photo (JPEG, PNG, WebP or HEIC, at most 10 MiB) and returns its SHA-256. Storing the same
    /// photo twice keeps one copy.
    pub fn add_photo(&mut self, bytes: &[u8]) -> Result<String> {
        let hash = sha256_hex(bytes);
        self.insert_blob(&hash, bytes, false)?;
        Ok(hash)
    }

    /// Stores a photo under `hash` once its size and type check out (`uploaded`: the server has it).
    fn insert_blob(&mut self, hash: &str, bytes: &[u8], uploaded: bool) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::PhotoInvalid("empty file".into()));
        }
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(Error::PhotoInvalid(format!("{} bytes is over the 10 MiB limit", bytes.len())));
        }
        let mime =
            image_mime(bytes).ok_or_else(|| Error::PhotoInvalid("not a JPEG, PNG, WebP or HEIC image".into()))?;
        let now = clock_text(self.clock().as_ref());
        self.with_tx(|tx| db::blobs::insert(tx, hash, mime, bytes, &now, uploaded))
    }

    /// A stored blob's type and bytes.
    pub fn blob(&self, hash: &str) -> Result<(String, Vec<u8>)> {
        db::blobs::get(self.conn(), hash)?.ok_or_else(|| Error::NotFound { kind: "blob".into(), id: hash.into() })
    }

    /// Every blob hash the materialised tables reference (photos of check-ins, visits, incident reports,
    /// incident events and service-order events), stored here or not.
    pub(crate) fn referenced_blobs(&self) -> Result<std::collections::BTreeSet<String>> {
        db::blobs::referenced(self.conn())
    }

    /// Stores a blob fetched from the server after checking its hash and type; it needs no upload.
    pub(crate) fn put_fetched_blob(&mut self, hash: &str, bytes: &[u8]) -> Result<()> {
        if sha256_hex(bytes) != hash {
            return Err(Error::PhotoInvalid(format!("blob {hash} does not match its hash")));
        }
        self.insert_blob(hash, bytes, true)
    }

    /// True when the blob is stored here.
    fn has_blob(&self, hash: &str) -> Result<bool> {
        db::blobs::exists(self.conn(), hash)
    }

    /// Of `hashes`, those not stored here (one pass over the stored hashes, not a query each).
    pub(crate) fn missing_blobs<'a>(&self, hashes: impl IntoIterator<Item = &'a String>) -> Result<Vec<String>> {
        let stored = db::blobs::stored(self.conn())?;
        Ok(hashes.into_iter().filter(|h| !stored.contains(*h)).cloned().collect())
    }

    /// Checks that every photo hash refers to a stored blob and that there are not too many.
    pub(crate) fn check_photos(&self, photos: &[String]) -> Result<()> {
        if photos.len() > MAX_PHOTOS {
            return Err(Error::PhotoInvalid(format!("at most {MAX_PHOTOS} photos")));
        }
        for p in photos {
            if !self.has_blob(p)? {
                return Err(Error::PhotoInvalid(format!("photo {p} is not in the store")));
            }
        }
        Ok(())
    }
}
