//! [`Routed`]: the Telegram ports as the services use them, run only by the
//! instance that owns the account. Before a call that needs the account's
//! live connection, it asks [`Ownership::route`]; when another instance
//! owns the account it fails with `Error::OwnedElsewhere`, which the API
//! turns into forwarding the whole call to that instance
//! (`api::forward`). So no instance opens a second connection for an
//! account another one keeps.
//!
//! Login steps (`prepare`, `send_code`, `sign_in`, `check_password`,
//! `bot_sign_in`, `qr_login`, `adopt_session`) are not routed: an account
//! in a login is owned by nobody, and a step runs where it is received.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::Ownership;
use crate::domain::chat::{ChatProfile, Dialog};
use crate::domain::lease::Owner;
use crate::domain::login::{CodeSent, SignIn, TelegramDevice, TelegramUser};
use crate::domain::media::RemoteFile;
use crate::domain::ports::{QrLoginFlow, TelegramAccounts, TelegramChats, TelegramFiles};
use crate::domain::{AccountId, Error, TenantId};

/// Routed wraps the Telegram adapter. The ownership is set once the
/// instance's `Ownership` exists (it is built after the services it
/// supervises through); until then, and without one, every call runs here.
pub struct Routed<T> {
    inner: Arc<T>,
    ownership: OnceLock<Ownership>,
}

impl<T> Routed<T> {
    pub fn new(inner: Arc<T>) -> Self {
        Self {
            inner,
            ownership: OnceLock::new(),
        }
    }

    /// route_by makes calls go by `ownership` from now on.
    pub fn route_by(&self, ownership: Ownership) {
        let _ = self.ownership.set(ownership);
    }

    async fn here(&self, account: AccountId) -> Result<(), Error> {
        let Some(ownership) = self.ownership.get() else {
            return Ok(());
        };
        match ownership.route(account).await? {
            Owner::Here | Owner::Nobody => Ok(()),
            Owner::Elsewhere { instance, address } => Err(Error::OwnedElsewhere {
                instance: instance.to_string(),
                address,
            }),
        }
    }
}

#[async_trait]
impl<T: TelegramChats> TelegramChats for Routed<T> {
    async fn dialogs(&self, account: AccountId, limit: u32) -> Result<Vec<Dialog>, Error> {
        self.here(account).await?;
        self.inner.dialogs(account, limit).await
    }

    async fn history(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        offset_id: i64,
        min_id: i64,
        limit: u32,
    ) -> Result<crate::domain::chat::History, Error> {
        self.here(account).await?;
        self.inner
            .history(account, chat, offset_id, min_id, limit)
            .await
    }

    async fn full_profile(
        &self,
        account: AccountId,
        chat: &ChatProfile,
    ) -> Result<crate::domain::chat::FullProfile, Error> {
        self.here(account).await?;
        self.inner.full_profile(account, chat).await
    }

    async fn newest_before(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        time: DateTime<Utc>,
    ) -> Result<Option<i64>, Error> {
        self.here(account).await?;
        self.inner.newest_before(account, chat, time).await
    }

    async fn read_history(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        max_id: i64,
    ) -> Result<(), Error> {
        self.here(account).await?;
        self.inner.read_history(account, chat, max_id).await
    }

    async fn set_typing(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        action: crate::domain::chat::TypingAction,
    ) -> Result<(), Error> {
        self.here(account).await?;
        self.inner.set_typing(account, chat, action).await
    }

    async fn edit_message(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        message_id: i64,
        text: &str,
        entities: &[crate::domain::chat::Entity],
    ) -> Result<Option<crate::domain::chat::Edited>, Error> {
        self.here(account).await?;
        self.inner
            .edit_message(account, chat, message_id, text, entities)
            .await
    }

    async fn search(
        &self,
        account: AccountId,
        chat: Option<&ChatProfile>,
        query: &crate::domain::chat::SearchQuery,
        max_id: i64,
        limit: u32,
    ) -> Result<crate::domain::chat::History, Error> {
        self.here(account).await?;
        self.inner.search(account, chat, query, max_id, limit).await
    }

    async fn contacts(
        &self,
        account: AccountId,
    ) -> Result<Vec<crate::domain::chat::Contact>, Error> {
        self.here(account).await?;
        self.inner.contacts(account).await
    }

    async fn resolve_username(
        &self,
        account: AccountId,
        username: &str,
    ) -> Result<ChatProfile, Error> {
        self.here(account).await?;
        self.inner.resolve_username(account, username).await
    }

    async fn import_contact(
        &self,
        account: AccountId,
        phone: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<Option<crate::domain::chat::Contact>, Error> {
        self.here(account).await?;
        self.inner
            .import_contact(account, phone, first_name, last_name)
            .await
    }

    async fn delete_messages(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        ids: &[i64],
        revoke: bool,
    ) -> Result<Vec<i64>, Error> {
        self.here(account).await?;
        self.inner.delete_messages(account, chat, ids, revoke).await
    }
}

#[async_trait]
impl<T: TelegramAccounts> TelegramAccounts for Routed<T> {
    async fn prepare(&self, tenant: &TenantId, account: AccountId) -> Result<(), Error> {
        self.inner.prepare(tenant, account).await
    }

    async fn send_code(&self, account: AccountId, phone: &str) -> Result<CodeSent, Error> {
        self.inner.send_code(account, phone).await
    }

    async fn sign_in(
        &self,
        account: AccountId,
        phone: &str,
        phone_code_hash: &str,
        code: &str,
    ) -> Result<SignIn, Error> {
        self.inner
            .sign_in(account, phone, phone_code_hash, code)
            .await
    }

    async fn check_password(
        &self,
        account: AccountId,
        password: &str,
    ) -> Result<TelegramUser, Error> {
        self.inner.check_password(account, password).await
    }

    async fn bot_sign_in(&self, account: AccountId, token: &str) -> Result<TelegramUser, Error> {
        self.inner.bot_sign_in(account, token).await
    }

    async fn adopt_session(&self, from: AccountId, to: AccountId) -> Result<(), Error> {
        self.inner.adopt_session(from, to).await
    }

    async fn qr_login(&self, account: AccountId) -> Result<Box<dyn QrLoginFlow>, Error> {
        self.inner.qr_login(account).await
    }

    async fn log_out(&self, account: AccountId) -> Result<(), Error> {
        self.here(account).await?;
        self.inner.log_out(account).await
    }

    async fn devices(&self, account: AccountId) -> Result<Vec<TelegramDevice>, Error> {
        self.here(account).await?;
        self.inner.devices(account).await
    }

    async fn terminate_device(&self, account: AccountId, hash: i64) -> Result<(), Error> {
        self.here(account).await?;
        self.inner.terminate_device(account, hash).await
    }
}

#[async_trait]
impl<T: TelegramFiles> TelegramFiles for Routed<T> {
    async fn message_file(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        message_id: i64,
    ) -> Result<Option<RemoteFile>, Error> {
        self.here(account).await?;
        self.inner.message_file(account, chat, message_id).await
    }

    async fn file_chunk(
        &self,
        account: AccountId,
        file: &RemoteFile,
        index: i64,
    ) -> Result<Bytes, Error> {
        self.here(account).await?;
        self.inner.file_chunk(account, file, index).await
    }
}
