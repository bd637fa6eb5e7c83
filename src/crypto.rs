//! Secrets at rest: an AEAD (XChaCha20-Poly1305) with key ids, so keys can be
//! rotated — data sealed under an old key stays readable while new data uses
//! the active key.
//!
//! Sealed format: `[version = 1][key id length][key id][24-byte nonce][ciphertext‖tag]`.
//! The associated data binds a ciphertext to its place (e.g. `accounts.session:<id>`),
//! so a sealed value copied into another row does not open.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed key spec (want id:base64 of 32 bytes)")]
    MalformedKey,
    #[error("no keys configured")]
    NoKeys,
    #[error("unknown key id {0:?}")]
    UnknownKey(String),
    #[error("sealed value is malformed")]
    Malformed,
    /// Wrong key, tampered data, or data moved to another place.
    #[error("sealed value does not open")]
    Open,
}

/// Sealer encrypts and authenticates secrets with the active key and opens
/// them with whichever known key sealed them.
#[derive(Clone)]
pub struct Sealer {
    keys: HashMap<String, XChaCha20Poly1305>,
    active: String,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material; ids are fine.
        let mut ids: Vec<_> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Sealer")
            .field("key_ids", &ids)
            .field("active", &self.active)
            .finish()
    }
}

impl Sealer {
    /// from_specs builds a sealer from `id:base64` specs; `active` defaults to the first.
    pub fn from_specs(specs: &[String], active: Option<&str>) -> Result<Sealer, Error> {
        let mut keys = HashMap::new();
        let mut first = None;
        for spec in specs {
            let (id, encoded) = spec.split_once(':').ok_or(Error::MalformedKey)?;
            let raw = Zeroizing::new(
                BASE64
                    .decode(encoded.trim())
                    .map_err(|_| Error::MalformedKey)?,
            );
            if id.is_empty() || id.len() > u8::MAX as usize || raw.len() != KEY_LEN {
                return Err(Error::MalformedKey);
            }
            let key = Key::try_from(raw.as_slice()).map_err(|_| Error::MalformedKey)?;
            keys.insert(id.to_owned(), XChaCha20Poly1305::new(&key));
            first.get_or_insert_with(|| id.to_owned());
        }
        let active = match active {
            Some(id) => id.to_owned(),
            None => first.ok_or(Error::NoKeys)?,
        };
        if !keys.contains_key(&active) {
            return Err(Error::UnknownKey(active));
        }
        Ok(Sealer { keys, active })
    }

    /// generate_spec makes a fresh random key spec `id:base64`.
    pub fn generate_spec(id: &str) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(raw.as_mut());
        Zeroizing::new(format!("{id}:{}", BASE64.encode(raw.as_ref())))
    }

    /// active_key_id is the id new data is sealed with; store it beside the
    /// sealed value to find rows that still need re-sealing after a rotation.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let cipher = &self.keys[&self.active];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("xchacha20poly1305 encryption cannot fail for in-memory buffers");
        let id = self.active.as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let (&version, rest) = sealed.split_first().ok_or(Error::Malformed)?;
        let (&id_len, rest) = rest.split_first().ok_or(Error::Malformed)?;
        if version != VERSION || rest.len() < id_len as usize + NONCE_LEN {
            return Err(Error::Malformed);
        }
        let (id, rest) = rest.split_at(id_len as usize);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let id = std::str::from_utf8(id).map_err(|_| Error::Malformed)?;
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| Error::UnknownKey(id.to_owned()))?;
        let nonce = XNonce::try_from(nonce).map_err(|_| Error::Malformed)?;
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(ids: &[&str], active: Option<&str>) -> Sealer {
        let specs: Vec<String> = ids
            .iter()
            .map(|id| Sealer::generate_spec(id).to_string())
            .collect();
        Sealer::from_specs(&specs, active).unwrap()
    }

    #[test]
    fn round_trip_hides_plaintext() {
        let s = sealer(&["k1"], None);
        let secret = b"auth key bytes auth key bytes!!";
        let sealed = s.seal(secret, b"accounts.session:a");
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(
            s.open(&sealed, b"accounts.session:a").unwrap().as_slice(),
            secret
        );
    }

    #[test]
    fn moved_or_tampered_values_do_not_open() {
        let s = sealer(&["k1"], None);
        let mut sealed = s.seal(b"x", b"place:1");
        assert!(matches!(s.open(&sealed, b"place:2"), Err(Error::Open)));
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(matches!(s.open(&sealed, b"place:1"), Err(Error::Open)));
        assert!(matches!(s.open(&[1], b""), Err(Error::Malformed)));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = Sealer::generate_spec("old").to_string();
        let new = Sealer::generate_spec("new").to_string();
        let before = Sealer::from_specs(std::slice::from_ref(&old), None).unwrap();
        let sealed = before.seal(b"v", b"");
        let after = Sealer::from_specs(&[old, new], Some("new")).unwrap();
        assert_eq!(after.active_key_id(), "new");
        assert_eq!(after.open(&sealed, b"").unwrap().as_slice(), b"v");
        let resealed = after.seal(b"v", b"");
        assert!(matches!(
            before.open(&resealed, b""),
            Err(Error::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_specs_are_refused() {
        for spec in [
            "nocolon",
            "k:notbase64!",
            "k:AAAA",
            ":AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ] {
            assert!(
                Sealer::from_specs(&[spec.to_owned()], None).is_err(),
                "{spec}"
            );
        }
        assert!(matches!(Sealer::from_specs(&[], None), Err(Error::NoKeys)));
    }
}
