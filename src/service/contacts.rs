//! Contacts and finding chats: ListContacts and ResolveChat.
//!
//! An account's contact list is kept in the store as a copy of Telegram's,
//! replaced whole when it is older than [`CONTACTS_TTL`] (DESIGN.md §3) and
//! extended by the contacts ResolveChat imports; pages are read through the
//! cache under a per-account generation that every change retires.
//!
//! ResolveChat makes a chat known to the account (its profile and access
//! hash are stored and cached in the session), so SendMessage can write to
//! it at once. A phone number is looked up in the contact list first and
//! imported only when it is not there: Telegram reveals users by phone to
//! contacts only, and importing is what it limits hardest.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::domain::chat::{Chat, Contact, ContactCursor, ContactPage, ResolveTarget};
use crate::domain::ports::{AccountStore, ContactStore, TelegramChats};
use crate::domain::{Account, AccountId, AccountKind, Caller, Error, Scope, TenantId};

use super::Chats;
use super::accounts::cached_account;
use super::cached::Generations;
use super::locks::KeyedLocks;
use super::require;

/// CONTACTS_TTL is how long a synced contact list (and a cached page of it)
/// is served before it is read from Telegram again.
pub const CONTACTS_TTL: Duration = Duration::from_secs(30 * 60);

/// SYNC_WAIT is how long a contacts read waits for a concurrent sync of
/// the same account.
const SYNC_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Contacts {
    store: Arc<dyn ContactStore>,
    accounts: Arc<dyn AccountStore>,
    telegram: Arc<dyn TelegramChats>,
    chats: Chats,
    generations: Generations,
    sync_locks: Arc<KeyedLocks<AccountId>>,
}

fn contacts_generation(tenant: &TenantId, account: AccountId) -> String {
    format!("contacts-gen:{tenant}:{account}")
}

fn bots_unsupported(what: &str) -> Error {
    Error::FailedPrecondition {
        reason: "BOTS_UNSUPPORTED",
        message: format!("Telegram gives bots no {what}"),
    }
}

/// ResolvedChat is ResolveChat's answer.
#[derive(Debug, Clone)]
pub struct ResolvedChat {
    pub chat: Chat,
    /// This call added the phone number to the account's contacts.
    pub contact_imported: bool,
}

impl Contacts {
    pub fn new(
        store: Arc<dyn ContactStore>,
        accounts: Arc<dyn AccountStore>,
        telegram: Arc<dyn TelegramChats>,
        chats: Chats,
        generations: Generations,
    ) -> Self {
        Self {
            store,
            accounts,
            telegram,
            chats,
            generations,
            sync_locks: Arc::new(KeyedLocks::default()),
        }
    }

    async fn account(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        require(caller, Scope::ChatsRead)?;
        cached_account(&self.generations, &*self.accounts, &caller.tenant, id).await
    }

    /// fresh_contacts replaces the stored contact list from Telegram when
    /// it is older than the TTL; one sync per account at a time.
    async fn fresh_contacts(&self, account: &Account) -> Result<(), Error> {
        let fresh = async || -> Result<bool, Error> {
            let synced = self.store.contacts_synced_at(account.id).await?;
            Ok(synced
                .is_some_and(|at| (Utc::now() - at).to_std().unwrap_or_default() < CONTACTS_TTL))
        };
        if fresh().await? {
            return Ok(());
        }
        account.require_authorized()?;
        let _guard = self
            .sync_locks
            .lock(&account.id, SYNC_WAIT)
            .await
            .ok_or_else(|| Error::Unavailable("the account's contact list is loading".into()))?;
        if fresh().await? {
            return Ok(());
        }
        let list = self.telegram.contacts(account.id).await?;
        self.store
            .replace_contacts(&account.tenant, account.id, &list, Utc::now())
            .await?;
        self.retire(&account.tenant, account.id).await;
        tracing::info!(account_id = %account.id, contacts = list.len(), "contact list synced");
        Ok(())
    }

    async fn retire(&self, tenant: &TenantId, account: AccountId) {
        self.generations
            .invalidate(&contacts_generation(tenant, account), CONTACTS_TTL)
            .await;
    }

    /// list_contacts is one page of the account's contacts, by name.
    pub async fn list_contacts(
        &self,
        caller: &Caller,
        account: AccountId,
        after: Option<ContactCursor>,
        limit: u32,
    ) -> Result<ContactPage, Error> {
        let account = self.account(caller, account).await?;
        if account.kind == AccountKind::Bot {
            return Err(bots_unsupported("contact list"));
        }
        self.fresh_contacts(&account).await?;
        let tenant = &caller.tenant;
        let key = format!(
            "contacts:{tenant}:{}:{}",
            account.id,
            serde_json::to_string(&(&after, limit)).expect("cursors serialize")
        );
        self.generations
            .read_through(
                &contacts_generation(tenant, account.id),
                &key,
                CONTACTS_TTL,
                async {
                    Ok(self
                        .store
                        .list_contacts(tenant, account.id, after.as_ref(), limit)
                        .await?)
                },
            )
            .await
    }

    /// resolve_chat finds the chat of a @username or a phone number
    /// (importing the number as a contact when the account lacks it) and
    /// makes it known to the account.
    pub async fn resolve_chat(
        &self,
        caller: &Caller,
        account: AccountId,
        target: ResolveTarget,
    ) -> Result<ResolvedChat, Error> {
        let account = self.account(caller, account).await?;
        account.require_authorized()?;
        let (profile, contact_imported) = match target {
            ResolveTarget::Username(username) => (
                self.telegram
                    .resolve_username(account.id, &username)
                    .await?,
                false,
            ),
            ResolveTarget::Phone {
                phone,
                first_name,
                last_name,
            } => {
                if account.kind == AccountKind::Bot {
                    return Err(bots_unsupported("users by phone number"));
                }
                let (contact, imported) = self
                    .contact_for_phone(&account, &phone, &first_name, &last_name)
                    .await?;
                (contact.profile(), imported)
            }
        };
        let chat = self.chats.remember(&account, profile).await?;
        let chat = self.chats.with_full_profile(&account, chat).await?;
        Ok(ResolvedChat {
            chat,
            contact_imported,
        })
    }

    /// contact_for_phone is the account's contact with the number, imported
    /// when the (fresh) contact list does not have it; true when imported.
    async fn contact_for_phone(
        &self,
        account: &Account,
        phone: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<(Contact, bool), Error> {
        self.fresh_contacts(account).await?;
        if let Some(contact) = self
            .store
            .contact_by_phone(&account.tenant, account.id, phone)
            .await?
        {
            return Ok((contact, false));
        }
        let first_name = if first_name.is_empty() {
            phone
        } else {
            first_name
        };
        let contact = self
            .telegram
            .import_contact(account.id, phone, first_name, last_name)
            .await?
            .ok_or(Error::NotFound {
                resource: "telegram user",
            })?;
        self.store
            .add_contact(&account.tenant, account.id, &contact)
            .await?;
        self.retire(&account.tenant, account.id).await;
        Ok((contact, true))
    }
}
