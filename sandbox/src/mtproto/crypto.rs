//! MTProto 2.0 message encryption for both directions.
//!
//! grammers only implements the client's half (`grammers_crypto::encrypt_data_v2`
//! encrypts with x = 0, `decrypt_data_v2` decrypts with x = 8, and its `calc_key`
//! is private), so the key derivation is written out here for either direction
//! (checked against `grammers-crypto-0.11.0/src/lib.rs`, `calc_key`). AES-IGE
//! itself is `grammers_crypto::aes`.

use std::fmt;

use grammers_crypto::DequeBuffer;
use grammers_mtproto::mtp::{Encrypted, Mtp};
use sha2::{Digest, Sha256};

/// Which way a message travels; it selects `x` in the MTProto 2.0 KDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server: x = 0.
    ClientToServer,
    /// Server to client: x = 8.
    ServerToClient,
}

impl Direction {
    fn x(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 8,
        }
    }
}

/// A 2048-bit authorization key with its 64-bit id.
///
/// `Debug` shows the id only; the key bytes never leave this type except
/// through [`AuthKey::to_bytes`].
#[derive(Clone)]
pub struct AuthKey {
    data: Box<[u8; 256]>,
    id: i64,
}

impl AuthKey {
    /// Wraps raw key bytes, computing the key id.
    pub fn from_bytes(data: [u8; 256]) -> Self {
        let id = auth_key_id(&data);
        Self {
            data: Box::new(data),
            id,
        }
    }

    /// The key id: SHA1(auth_key)[12..20] read as a little-endian i64.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The raw key bytes (a secret: never log them).
    pub fn to_bytes(&self) -> [u8; 256] {
        *self.data
    }

    fn data(&self) -> &[u8; 256] {
        &self.data
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKey").field("id", &self.id).finish()
    }
}

/// The id of an authorization key exactly as the grammers client computes it:
/// SHA1(auth_key)[12..20], little-endian.
///
/// grammers keeps `AuthKey::key_id` crate-private. Rather than pull in a SHA-1
/// dependency of our own, the id is read from the first 8 bytes grammers writes
/// onto an encrypted payload for this key — by construction the very bytes the
/// client puts on the wire (`grammers-crypto-0.11.0/src/lib.rs`,
/// `do_encrypt_data_v2`, `buffer.extend_front(&auth_key.key_id)`).
pub fn auth_key_id(data: &[u8; 256]) -> i64 {
    let mut mtp = Encrypted::build().compression_threshold(None).finish(*data);
    let mut buffer = DequeBuffer::with_capacity(128, 64);
    // Any 4-byte-aligned body will do; a `ping` constructor is the smallest.
    let pushed = mtp.push(&mut buffer, &0x7abe_77ec_u32.to_le_bytes());
    debug_assert!(pushed.is_some(), "an empty buffer always has room");
    mtp.finalize(&mut buffer);
    let bytes: &[u8] = buffer.as_ref();
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[..8]);
    i64::from_le_bytes(id)
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// msg_key = SHA256(auth_key[88+x .. 120+x] ‖ plaintext_with_padding)[8..24].
pub fn msg_key(key: &AuthKey, direction: Direction, plaintext: &[u8]) -> [u8; 16] {
    let x = direction.x();
    let large = sha256(&[&key.data()[88 + x..120 + x], plaintext]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&large[8..24]);
    out
}

/// The MTProto 2.0 KDF: (aes_key, aes_iv) from auth_key and msg_key.
fn aes_key_iv(key: &AuthKey, msg_key: &[u8; 16], direction: Direction) -> ([u8; 32], [u8; 32]) {
    let x = direction.x();
    let data = key.data();
    let a = sha256(&[msg_key, &data[x..x + 36]]);
    let b = sha256(&[&data[40 + x..40 + x + 36], msg_key]);

    let mut aes_key = [0u8; 32];
    aes_key[0..8].copy_from_slice(&a[0..8]);
    aes_key[8..24].copy_from_slice(&b[8..24]);
    aes_key[24..32].copy_from_slice(&a[24..32]);

    let mut aes_iv = [0u8; 32];
    aes_iv[0..8].copy_from_slice(&b[0..8]);
    aes_iv[8..24].copy_from_slice(&a[8..24]);
    aes_iv[24..32].copy_from_slice(&b[24..32]);

    (aes_key, aes_iv)
}

/// Encrypts an already padded plaintext (length a multiple of 16) and returns
/// the payload `auth_key_id ‖ msg_key ‖ ciphertext`.
pub fn encrypt(key: &AuthKey, direction: Direction, padded_plaintext: &[u8]) -> Vec<u8> {
    assert!(
        padded_plaintext.len().is_multiple_of(16),
        "the caller pads the plaintext to a multiple of 16 bytes"
    );
    let msg_key = msg_key(key, direction, padded_plaintext);
    let (aes_key, aes_iv) = aes_key_iv(key, &msg_key, direction);
    let mut out = Vec::with_capacity(24 + padded_plaintext.len());
    out.extend_from_slice(&key.id().to_le_bytes());
    out.extend_from_slice(&msg_key);
    out.extend_from_slice(padded_plaintext);
    grammers_crypto::aes::ige_encrypt(&mut out[24..], &aes_key, &aes_iv);
    out
}

/// Why a payload could not be decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The ciphertext is empty or not a multiple of 16 bytes.
    BadLength,
    /// The msg_key does not match the decrypted plaintext.
    MsgKeyMismatch,
}

/// Decrypts `ciphertext` (the part after auth_key_id and msg_key) and checks
/// msg_key against the plaintext.
pub fn decrypt(
    key: &AuthKey,
    direction: Direction,
    msg_key_got: &[u8; 16],
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return Err(DecryptError::BadLength);
    }
    let (aes_key, aes_iv) = aes_key_iv(key, msg_key_got, direction);
    let mut plaintext = ciphertext.to_vec();
    grammers_crypto::aes::ige_decrypt(&mut plaintext, &aes_key, &aes_iv);
    let expected = msg_key(key, direction, &plaintext);
    // Constant-time comparison: the result must not leak how many bytes matched.
    let diff = expected
        .iter()
        .zip(msg_key_got)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(DecryptError::MsgKeyMismatch);
    }
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting_key() -> AuthKey {
        let mut data = [0u8; 256];
        data.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8);
        AuthKey::from_bytes(data)
    }

    /// The vectors grammers tests its private `calc_key` with
    /// (`grammers-crypto-0.11.0/src/lib.rs`, `calc_client_key` / `calc_server_key`).
    #[test]
    fn kdf_matches_grammers_vectors() {
        let key = counting_key();
        let mut msg_key = [0u8; 16];
        msg_key
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = i as u8);

        let (client_key, client_iv) = aes_key_iv(&key, &msg_key, Direction::ClientToServer);
        assert_eq!(client_key[..4], [112, 78, 208, 156]);
        assert_eq!(client_iv[..4], [77, 38, 96, 0]);

        let (server_key, server_iv) = aes_key_iv(&key, &msg_key, Direction::ServerToClient);
        assert_eq!(server_key[..4], [33, 119, 37, 121]);
        assert_eq!(server_iv[..4], [102, 154, 101, 56]);
    }

    /// grammers' own client encryption of a known plaintext with zero padding
    /// (`encrypt_client_data_v2`) is reproduced byte for byte.
    #[test]
    fn client_direction_matches_grammers_vector() {
        let key = counting_key();
        let mut plaintext = b"Hello, world! This data should remain secure!".to_vec();
        let padding = 16 + (16 - plaintext.len() % 16);
        plaintext.extend(std::iter::repeat_n(0u8, padding));
        let payload = encrypt(&key, Direction::ClientToServer, &plaintext);
        let expected: [u8; 88] = [
            50, 209, 88, 110, 164, 87, 223, 200, 168, 23, 41, 212, 109, 181, 64, 25, 162, 191, 215,
            247, 68, 249, 185, 108, 79, 113, 108, 253, 196, 71, 125, 178, 162, 193, 95, 109, 219,
            133, 35, 95, 185, 85, 47, 29, 132, 7, 198, 170, 234, 0, 204, 132, 76, 90, 27, 246, 172,
            68, 183, 155, 94, 220, 42, 35, 134, 139, 61, 96, 115, 165, 144, 153, 44, 15, 41, 117,
            36, 61, 86, 62, 161, 128, 210, 24, 238, 117, 124, 154,
        ];
        assert_eq!(payload, expected);
    }
}
