//! Ed25519 signatures over Automerge change hashes: how a change authored on one phone travels through
//! another (offline hand-off) and is still accepted as its author's. No I/O: the server verifies with the
//! same functions the device signs with.

use automerge::{ActorId, ChangeHash};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::protocol::ChangeSignature;
use crate::error::{Error, Result};

/// Length of an Ed25519 secret key in bytes.
pub const SECRET_KEY_LEN: usize = 32;

/// A new random Ed25519 secret key.
pub fn generate_secret() -> Result<[u8; SECRET_KEY_LEN]> {
    let mut secret = [0u8; SECRET_KEY_LEN];
    getrandom::fill(&mut secret).map_err(|e| Error::Io(format!("random signing key: {e}")))?;
    Ok(secret)
}

/// The hex public key of a secret key (what enrollment registers).
pub fn public_key_hex(secret: &[u8; SECRET_KEY_LEN]) -> String {
    hex::encode(SigningKey::from_bytes(secret).verifying_key().as_bytes())
}

/// Signs the 32 raw bytes of a change hash on behalf of `device_id`.
pub fn sign_change(secret: &[u8; SECRET_KEY_LEN], device_id: &str, hash: &ChangeHash) -> ChangeSignature {
    let signature = SigningKey::from_bytes(secret).sign(&hash.0);
    ChangeSignature {
        change_hash: hex::encode(hash.0),
        device_id: device_id.to_string(),
        signature: hex::encode(signature.to_bytes()),
    }
}

/// Parses a hex change hash.
pub fn parse_change_hash(text: &str) -> Result<ChangeHash> {
    let bytes: [u8; 32] = hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::invalid("change_hash", format!("{text:?} is not a 32-byte hex hash")))?;
    Ok(ChangeHash(bytes))
}

fn verifying_key(public_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(public_key).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// True when `public_key` is hex of a valid Ed25519 public key (what enrollment accepts).
pub fn valid_public_key(public_key: &str) -> bool {
    verifying_key(public_key).is_some()
}

/// Verifies `sig` with the hex public key `public_key` (strictly: the server and a bundle import accept
/// exactly the same signatures).
pub fn verify_change(public_key: &str, sig: &ChangeSignature) -> Result<()> {
    let bad = |why: &str| Error::SignatureInvalid(format!("change {}: {why}", sig.change_hash));
    let key = verifying_key(public_key).ok_or_else(|| bad("malformed public key"))?;
    let raw: [u8; 64] =
        hex::decode(&sig.signature).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| bad("malformed signature"))?;
    let hash = parse_change_hash(&sig.change_hash).map_err(|_| bad("malformed hash"))?;
    key.verify_strict(&hash.0, &Signature::from_bytes(&raw)).map_err(|_| bad("signature does not verify"))
}

/// The Automerge actor id of a device: the 16 bytes of its UUID.
pub fn device_actor(device_id: &str) -> Result<ActorId> {
    let uuid = uuid::Uuid::parse_str(device_id).map_err(|_| Error::invalid("device_id", format!("{device_id:?}")))?;
    Ok(ActorId::from(uuid.as_bytes().as_slice()))
}

/// The device id an actor id stands for, when it is a device's 16-byte UUID.
pub fn actor_device(actor: &ActorId) -> Option<String> {
    uuid::Uuid::from_slice(actor.to_bytes()).ok().map(|u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let secret = generate_secret().expect("secret");
        let public = public_key_hex(&secret);
        let hash = ChangeHash([7; 32]);
        let sig = sign_change(&secret, "0190f5a4-2b3c-7d4e-8f00-112233445566", &hash);
        verify_change(&public, &sig).expect("verifies");
        let other = ChangeSignature { change_hash: hex::encode([8u8; 32]), ..sig.clone() };
        assert_eq!(verify_change(&public, &other).map_err(|e| e.code()), Err(crate::ErrorCode::SignatureInvalid));
        let stranger = public_key_hex(&generate_secret().expect("secret"));
        assert!(verify_change(&stranger, &sig).is_err());
        assert!(verify_change("zz", &sig).is_err());
    }

    #[test]
    fn device_ids_and_actors_map_both_ways() {
        let id = "0190f5a4-2b3c-7d4e-8f00-112233445566";
        assert_eq!(actor_device(&device_actor(id).expect("actor")).as_deref(), Some(id));
        assert!(device_actor("nope").is_err());
    }
}
