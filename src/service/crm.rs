//! CRM links: LinkChat, UnlinkChat, ListLinks and SuggestLinks.
//!
//! A link is written with its event in one transaction (`LinkStore`), then
//! the cached chat lists and chats of its account are retired, so a read
//! after a link shows it on the chat.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};

use super::{Chats, require};
use crate::domain::audit::{AuditAction, NewAuditEntry};
use crate::domain::crm::{ChatLink, Entity, EntityContact, LinkFilter, LinkPage, Suggestion};
use crate::domain::login::RequestId;
use crate::domain::ports::LinkStore;
use crate::domain::{AccountId, Caller, Error, Scope};

#[derive(Clone)]
pub struct Crm {
    links: Arc<dyn LinkStore>,
    chats: Chats,
}

impl Crm {
    pub fn new(links: Arc<dyn LinkStore>, chats: Chats) -> Self {
        Self { links, chats }
    }

    /// link_chat links a chat to a CRM record, idempotent on `request_id`.
    pub async fn link_chat(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        entity: Entity,
        request_id: RequestId,
    ) -> Result<ChatLink, Error> {
        require(caller, Scope::CrmWrite)?;
        let tenant = &caller.tenant;
        self.chats.account(tenant, account).await?;
        let link = ChatLink {
            id: uuid::Uuid::now_v7().to_string(),
            account,
            chat_id,
            entity,
            created_by: caller.principal.clone(),
            request_id: Some(request_id.as_str().to_owned()),
            // What PostgreSQL keeps (microseconds), so a retry's answer is
            // the first one's.
            created_at: Utc::now().trunc_subsecs(6),
        };
        let stored = self.links.link(tenant, &link).await?;
        if stored.id != link.id {
            if !stored.same_request(account, chat_id, &link.entity) {
                return Err(Error::InvalidInput {
                    reason: "REQUEST_ID_REUSED",
                    field: "request_id",
                    description: "this request_id was used for a different link".into(),
                });
            }
            return Ok(stored);
        }
        self.chats.retire(tenant, account, &[chat_id]).await;
        self.chats
            .audit()
            .record(
                NewAuditEntry::by(caller, AuditAction::ChatLinked)
                    .chat(account, chat_id)
                    .detail("entity_type", stored.entity.kind.as_str())
                    .detail("entity_id", &stored.entity.id),
            )
            .await;
        Ok(stored)
    }

    /// unlink_chat removes a link.
    pub async fn unlink_chat(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        entity: &Entity,
    ) -> Result<(), Error> {
        require(caller, Scope::CrmWrite)?;
        let tenant = &caller.tenant;
        self.chats.account(tenant, account).await?;
        self.links.unlink(tenant, account, chat_id, entity).await?;
        self.chats.retire(tenant, account, &[chat_id]).await;
        self.chats
            .audit()
            .record(
                NewAuditEntry::by(caller, AuditAction::ChatUnlinked)
                    .chat(account, chat_id)
                    .detail("entity_type", entity.kind.as_str())
                    .detail("entity_id", &entity.id),
            )
            .await;
        Ok(())
    }

    /// list_links lists links, newest first.
    pub async fn list_links(
        &self,
        caller: &Caller,
        filter: &LinkFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<LinkPage, Error> {
        require(caller, Scope::CrmRead)?;
        if let LinkFilter::Chat { account, .. } = filter {
            self.chats.account(&caller.tenant, *account).await?;
        }
        Ok(self
            .links
            .links(&caller.tenant, filter, after, limit)
            .await?)
    }

    /// suggest_links finds the chats of one account, or of the tenant, that
    /// probably belong to a CRM record.
    pub async fn suggest_links(
        &self,
        caller: &Caller,
        account: Option<AccountId>,
        contact: &EntityContact,
    ) -> Result<Vec<Suggestion>, Error> {
        require(caller, Scope::CrmRead)?;
        if let Some(account) = account {
            self.chats.account(&caller.tenant, account).await?;
        }
        Ok(self.links.suggest(&caller.tenant, account, contact).await?)
    }
}
