//! What logging in to Telegram yields, in the domain's words.

use chrono::{DateTime, Utc};

/// TelegramUser is the Telegram user an account is logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUser {
    pub user_id: i64,
    pub bot: bool,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub display_name: String,
}

/// CodeSent is the outcome of asking Telegram for a login code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSent {
    /// A code is on its way; the hash goes with it to `sign_in`.
    Code { phone_code_hash: String },
    /// The session is already logged in.
    SignedIn(TelegramUser),
}

/// SignIn is the outcome of submitting a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    SignedIn(TelegramUser),
    /// Two-step verification is on; submit the password next.
    PasswordRequired {
        hint: Option<String>,
    },
}

/// QrLogin is one step of a QR-code login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrLogin {
    /// Show this token as a QR code (`tg://login?token=…`) until it expires.
    Token {
        url: String,
        expires: DateTime<Utc>,
    },
    SignIn(SignIn),
}

/// TelegramDevice is one Telegram session (device) of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramDevice {
    pub hash: i64,
    pub current: bool,
    pub device_model: String,
    pub platform: String,
    pub app_name: String,
    pub ip: String,
    pub country: String,
    pub created_at: DateTime<Utc>,
    pub active_at: DateTime<Utc>,
}

/// PhoneNumber is a phone number as E.164 digits without the plus sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// parse accepts 7 to 15 digits with an optional leading `+`, and
    /// ignores spaces, dashes and parentheses.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let trimmed = input.trim();
        let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' => {}
                _ => return Err("must be digits with an optional leading +"),
            }
        }
        if !(7..=15).contains(&digits.len()) {
            return Err("must have 7 to 15 digits");
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// BotToken is a token from @BotFather: `<bot id>:<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(zeroize::Zeroizing<String>);

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(..)")
    }
}

impl BotToken {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let input = input.trim();
        let Some((id, secret)) = input.split_once(':') else {
            return Err("must look like 123456:ABC-DEF…");
        };
        let id_ok = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
        let secret_ok = (20..=100).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if id_ok && secret_ok {
            Ok(Self(zeroize::Zeroizing::new(input.to_owned())))
        } else {
            Err("must look like 123456:ABC-DEF…")
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// bot_id is the bot's Telegram user id, the token's public prefix, so a
    /// bot already connected is recognised before logging in again.
    pub fn bot_id(&self) -> Option<i64> {
        self.0.split_once(':')?.0.parse().ok()
    }
}

/// LoginCode is the code Telegram sent: 5 or 6 digits (up to 10 accepted).
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCode(zeroize::Zeroizing<String>);

impl std::fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginCode(..)")
    }
}

impl LoginCode {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let input = input.trim();
        if (4..=10).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(zeroize::Zeroizing::new(input.to_owned())))
        } else {
            Err("must be the 4 to 10 digits Telegram sent")
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Password is a two-step verification password (never stored or logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(zeroize::Zeroizing<String>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        if input.is_empty() {
            Err("required")
        } else if input.len() > 256 {
            Err("must be at most 256 bytes")
        } else {
            Ok(Self(zeroize::Zeroizing::new(input.to_owned())))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// RequestId makes a create idempotent: up to 64 of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let ok = !input.is_empty()
            && input.len() <= 64
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err("must be 1 to 64 of [A-Za-z0-9._:-], e.g. a UUID")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_normalize_to_digits() {
        assert_eq!(
            PhoneNumber::parse("+999 66-1 2345").unwrap().as_str(),
            "9996612345"
        );
        for bad in ["", "+", "12345", "1234567890123456", "99966abc12", "+-1"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_validated_and_never_printed() {
        let token = BotToken::parse("123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(format!("{token:?}"), "BotToken(..)");
        assert!(BotToken::parse("123456").is_err());
        assert!(BotToken::parse("abc:AAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(LoginCode::parse("12345").is_ok());
        assert!(LoginCode::parse("12a45").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("hunter2").unwrap()),
            "Password(..)"
        );
        assert!(Password::parse("").is_err());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert!(RequestId::parse("0b9f-uuid").is_ok());
        assert!(RequestId::parse("has space").is_err());
    }
}
