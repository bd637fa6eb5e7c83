//! Pagination on the wire: `page_size` bounds and opaque `page_token`s.
//!
//! A token is base64url of `v1|<rpc>|<cursor>`: opaque to callers, bound to
//! the RPC that issued it, so a token from another list is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use crate::domain::Error;

/// PageSize is a validated page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub default: u32,
    pub max: u32,
}

/// page_size validates `page_size`: 0 means the default, negative or above
/// the maximum is INVALID_ARGUMENT.
pub fn page_size(value: i32, limits: Limits) -> Result<u32, Error> {
    match value {
        0 => Ok(limits.default),
        v if v < 0 || v as u32 > limits.max => Err(Error::invalid(
            "page_size",
            format!(
                "must be between 0 and {} (0 means {})",
                limits.max, limits.default
            ),
        )),
        v => Ok(v as u32),
    }
}

/// binding names the parameters a page token was issued for (a short
/// digest), so a token is refused with other parameters.
pub fn binding(parameters: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(parameters).expect("page parameters serialize");
    hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)[..8])
}

pub fn encode_token(rpc: &str, cursor: &str) -> String {
    B64URL.encode(format!("v1|{rpc}|{cursor}"))
}

/// decode_token returns the cursor of a token `rpc` issued, `None` for an empty token.
pub fn decode_token(rpc: &str, token: &str) -> Result<Option<String>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || Error::invalid("page_token", "not a page token issued by this RPC");
    let raw = B64URL.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(issuer), Some(cursor)) if issuer == rpc && !cursor.is_empty() => {
            Ok(Some(cursor.to_owned()))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        default: 100,
        max: 1000,
    };

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0, LIMITS).unwrap(), 100);
        assert_eq!(page_size(1000, LIMITS).unwrap(), 1000);
        for bad in [-5, -1, 1001, i32::MAX, i32::MIN] {
            assert!(
                matches!(page_size(bad, LIMITS), Err(Error::InvalidArgument(v)) if v[0].field == "page_size")
            );
        }
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_rpc() {
        let token = encode_token("ListAccounts", "abc");
        assert_eq!(
            decode_token("ListAccounts", &token).unwrap().as_deref(),
            Some("abc")
        );
        assert!(decode_token("ListChats", &token).is_err());
        assert!(decode_token("ListAccounts", "!!").is_err());
        assert_eq!(decode_token("ListAccounts", "").unwrap(), None);
    }
}
