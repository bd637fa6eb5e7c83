//! Hand-written conversions between the wire (`tezgram_sdk::v1`) and the
//! domain. Proto messages are destructured without `..`, so a new field is a
//! compile error here until someone decides what it means.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use tezgram_sdk::v1 as pb;

use crate::domain::login::TelegramDevice;
use crate::domain::{Account, AccountKind, AccountState};

pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

impl From<AccountKind> for pb::AccountKind {
    fn from(kind: AccountKind) -> Self {
        match kind {
            AccountKind::User => pb::AccountKind::User,
            AccountKind::Bot => pb::AccountKind::Bot,
        }
    }
}

impl From<AccountState> for pb::AccountState {
    fn from(state: AccountState) -> Self {
        match state {
            AccountState::LoginCodeRequired => pb::AccountState::LoginCodeRequired,
            AccountState::PasswordRequired => pb::AccountState::PasswordRequired,
            AccountState::Authorized => pb::AccountState::Authorized,
            AccountState::ReauthRequired => pb::AccountState::ReauthRequired,
            AccountState::LoggedOut => pb::AccountState::LoggedOut,
        }
    }
}

impl From<Account> for pb::Account {
    fn from(account: Account) -> Self {
        let Account {
            id,
            tenant: _,
            kind,
            state,
            phone_number,
            telegram_user_id,
            username,
            display_name,
            password_hint,
            created_at,
            updated_at,
        } = account;
        // The hint is only meaningful while a password is awaited.
        let password_hint = match state {
            AccountState::PasswordRequired => password_hint.unwrap_or_default(),
            _ => String::new(),
        };
        pb::Account {
            account_id: id.to_string(),
            kind: pb::AccountKind::from(kind) as i32,
            state: pb::AccountState::from(state) as i32,
            phone_number: phone_number.unwrap_or_default(),
            telegram_user_id: telegram_user_id.unwrap_or_default(),
            username: username.unwrap_or_default(),
            display_name,
            create_time: Some(timestamp(created_at)),
            update_time: Some(timestamp(updated_at)),
            password_hint,
        }
    }
}

impl From<TelegramDevice> for pb::Authorization {
    fn from(device: TelegramDevice) -> Self {
        let TelegramDevice {
            hash,
            current,
            device_model,
            platform,
            app_name,
            ip,
            country,
            created_at,
            active_at,
        } = device;
        pb::Authorization {
            authorization_hash: hash,
            current,
            device_model,
            platform,
            app_name,
            ip,
            country,
            create_time: Some(timestamp(created_at)),
            active_time: Some(timestamp(active_at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, TenantId};

    #[test]
    fn accounts_convert_with_hint_only_when_awaiting_password() {
        let now = Utc::now();
        let mut account = Account {
            id: AccountId::new(),
            tenant: TenantId::parse("t").unwrap(),
            kind: AccountKind::User,
            state: AccountState::Authorized,
            phone_number: Some("9996612345".into()),
            telegram_user_id: Some(42),
            username: None,
            display_name: "Ann".into(),
            password_hint: Some("pet".into()),
            created_at: now,
            updated_at: now,
        };
        let wire = pb::Account::from(account.clone());
        assert_eq!(wire.state, pb::AccountState::Authorized as i32);
        assert_eq!(wire.password_hint, "");
        assert_eq!(wire.telegram_user_id, 42);
        account.state = AccountState::PasswordRequired;
        assert_eq!(pb::Account::from(account).password_hint, "pet");
    }
}
