//! The server side of Telegram's 2FA: SRP-2048 with the KDF
//! `passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow`
//! (<https://core.telegram.org/api/srp>).
//!
//! The server stores salt1, salt2 and the verifier v = g^x mod p, never the
//! password. For each `account.getPassword` it draws a fresh secret b and
//! offers B = (k·v + g^b) mod p; `auth.checkPassword` brings the client's
//! A and M1, which the server recomputes from v and b.

use num_bigint::BigUint;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// G is the generator Telegram offers with [`P_HEX`].
pub const G: i32 = 3;

/// P_HEX is Telegram's well-known 2048-bit safe prime (core.telegram.org/api/srp);
/// clients check it (grammers' `check_p_and_g` does) before answering.
pub const P_HEX: &str = "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B";

const PBKDF2_ITERATIONS: u32 = 100_000;

/// p returns [`P_HEX`] as 256 big-endian bytes.
pub fn p_bytes() -> [u8; 256] {
    let mut out = [0u8; 256];
    hex::decode_to_slice(P_HEX, &mut out).expect("P_HEX is 512 hex digits");
    out
}

fn p() -> BigUint {
    BigUint::from_bytes_be(&p_bytes())
}

fn pad256(n: &BigUint) -> [u8; 256] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; 256];
    out[256 - bytes.len()..].copy_from_slice(&bytes);
    out
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

// SH(data, salt) := H(salt | data | salt)
fn sh(data: &[u8], salt: &[u8]) -> [u8; 32] {
    h(&[salt, data, salt])
}

/// pbkdf2_hmac_sha512 derives one 64-byte block (all Telegram needs). The
/// HMAC pads are hashed once and cloned per iteration.
fn pbkdf2_hmac_sha512(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 64] {
    let mut key = [0u8; 128];
    if password.len() > 128 {
        key[..64].copy_from_slice(&Sha512::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut inner = Sha512::new();
    inner.update(key.map(|b| b ^ 0x36));
    let mut outer = Sha512::new();
    outer.update(key.map(|b| b ^ 0x5c));
    let prf = |data: &[&[u8]]| -> [u8; 64] {
        let mut i = inner.clone();
        for part in data {
            i.update(part);
        }
        let mut o = outer.clone();
        o.update(i.finalize());
        o.finalize().into()
    };
    let mut u = prf(&[salt, &1u32.to_be_bytes()]);
    let mut t = u;
    for _ in 1..iterations {
        u = prf(&[&u]);
        t.iter_mut().zip(u.iter()).for_each(|(t, u)| *t ^= u);
    }
    t
}

/// x derives PH2(password, salt1, salt2). CPU-heavy (100 000 PBKDF2
/// iterations): never call it on the async runtime.
fn x(password: &[u8], salt1: &[u8], salt2: &[u8]) -> BigUint {
    let ph1 = sh(&sh(password, salt1), salt2);
    let dk = pbkdf2_hmac_sha512(&ph1, salt1, PBKDF2_ITERATIONS);
    BigUint::from_bytes_be(&sh(&dk, salt2))
}

/// TwoFactor is a user's stored 2FA password: the salts, the SRP verifier
/// and the hint. It never holds the password itself.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactor {
    #[serde(with = "hex_bytes")]
    pub salt1: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub salt2: Vec<u8>,
    /// v = g^x mod p, 256 bytes big-endian.
    #[serde(with = "hex_bytes")]
    verifier: Vec<u8>,
    pub hint: Option<String>,
}

impl std::fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

impl TwoFactor {
    /// derive computes the verifier for `password` with fresh random salts.
    ///
    /// CPU-heavy (PBKDF2-HMAC-SHA512, 100 000 iterations, ~0.1 s optimised
    /// and more in debug builds): async callers must run it in
    /// `tokio::task::spawn_blocking`, never on the runtime.
    pub fn derive(password: &str, hint: Option<String>) -> Self {
        let mut rng = rand::rng();
        // Telegram's salt1 is 8 server bytes + 32 client bytes; salt2 is 16.
        let mut salt1 = vec![0u8; 40];
        let mut salt2 = vec![0u8; 16];
        rng.fill_bytes(&mut salt1);
        rng.fill_bytes(&mut salt2);
        Self::derive_with_salts(password, salt1, salt2, hint)
    }

    /// derive_with_salts is [`TwoFactor::derive`] with given salts (for
    /// deterministic tests). Just as CPU-heavy.
    pub fn derive_with_salts(
        password: &str,
        salt1: Vec<u8>,
        salt2: Vec<u8>,
        hint: Option<String>,
    ) -> Self {
        let x = x(password.as_bytes(), &salt1, &salt2);
        let v = BigUint::from(G as u32).modpow(&x, &p());
        Self {
            salt1,
            salt2,
            verifier: pad256(&v).to_vec(),
            hint,
        }
    }

    /// challenge draws the server's secret b and computes
    /// B = (k·v + g^b) mod p. Costs one 2048-bit modpow.
    pub(crate) fn challenge(&self, rng: &mut impl RngCore) -> SrpSecret {
        let mut b = [0u8; 256];
        rng.fill_bytes(&mut b);
        let p = p();
        let g = BigUint::from(G as u32);
        let k = BigUint::from_bytes_be(&h(&[&p_bytes(), &pad256(&g)]));
        let v = BigUint::from_bytes_be(&self.verifier);
        let g_b = (k * v + g.modpow(&BigUint::from_bytes_be(&b), &p)) % &p;
        SrpSecret {
            b: b.to_vec(),
            g_b: pad256(&g_b).to_vec(),
        }
    }

    /// check verifies the client's proof M1 for its A against the secret of
    /// one challenge. Costs two 2048-bit modpows; no PBKDF2.
    pub(crate) fn check(&self, secret: &SrpSecret, a: &[u8], m1: &[u8]) -> bool {
        let p = p();
        let big_a = BigUint::from_bytes_be(a);
        // A must lie in (1, p-1), or the session key is predictable.
        if big_a <= BigUint::from(1u32) || big_a >= &p - 1u32 || a.len() > 256 {
            return false;
        }
        let g_a = pad256(&big_a);
        let g_b = &secret.g_b;
        let u = BigUint::from_bytes_be(&h(&[&g_a, g_b]));
        let v = BigUint::from_bytes_be(&self.verifier);
        let b = BigUint::from_bytes_be(&secret.b);
        // S = (A · v^u)^b mod p equals the client's (B - k·v)^(a + u·x).
        let s = (big_a * v.modpow(&u, &p) % &p).modpow(&b, &p);
        let k_a = h(&[&pad256(&s)]);
        let h_p = h(&[&p_bytes()]);
        let h_g = h(&[&pad256(&BigUint::from(G as u32))]);
        let p_xor_g: Vec<u8> = h_p.iter().zip(h_g.iter()).map(|(a, b)| a ^ b).collect();
        let expected = h(&[
            &p_xor_g,
            &h(&[&self.salt1]),
            &h(&[&self.salt2]),
            &g_a,
            g_b,
            &k_a,
        ]);
        // Constant-time enough for a test double; still avoid early exit.
        m1.len() == 32
            && expected
                .iter()
                .zip(m1)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// SrpSecret is one `account.getPassword` answer's server side: b and B.
#[derive(Clone)]
pub(crate) struct SrpSecret {
    b: Vec<u8>,
    pub(crate) g_b: Vec<u8>,
}

pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_is_telegrams_safe_prime_for_g3() {
        // The client-side check grammers runs before it answers a challenge.
        assert!(grammers_crypto::two_factor_auth::check_p_and_g(
            &p_bytes(),
            &G
        ));
    }

    #[test]
    fn pbkdf2_matches_rfc_test_vector() {
        // PBKDF2-HMAC-SHA512, P="password", S="salt", c=2 (RFC 7914 style
        // vectors published for SHA-512).
        let dk = pbkdf2_hmac_sha512(b"password", b"salt", 2);
        assert_eq!(
            hex::encode(dk),
            "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c\
             f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e"
        );
    }
}
