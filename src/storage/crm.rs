//! `LinkStore` on `crm_links`: links between chats and CRM records, their
//! events, the linked records a chat shows, and SuggestLinks' lookups.
//!
//! A link is unique per (tenant, account, chat, record) and its request id
//! per tenant (unique indexes): of two racing LinkChat calls for one link,
//! one inserts and appends the event, the other gets AlreadyExists (or, for
//! the same request id, the link the first made). When Telegram migrates a
//! basic group to a supergroup, ingest moves the group's links along
//! ([`move_links`], in the chat store's transaction).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{chats, contacts, crm_links};
use super::{Store, StoreResultExt};
use crate::domain::chat::{Chat, Contact, Migration};
use crate::domain::crm::{
    ChatLink, Entity, EntityContact, EntityType, LinkFilter, LinkPage, LinkedEntity,
    MAX_SUGGESTIONS, MatchReason, Suggestion, fold_name,
};
use crate::domain::event::{EventPayload, NewEvent};
use crate::domain::ports::{LinkStore, StoreError};
use crate::domain::{AccountId, TenantId};

const LINK: &str = "link";
const CHAT: &str = "chat";

/// CANDIDATES bounds the rows SuggestLinks scores (per table).
const CANDIDATES: u64 = 200;

fn link_from_row(row: crm_links::Model) -> Result<ChatLink, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("link {}: {what}", row.id));
    Ok(ChatLink {
        account: row.account_id.parse().map_err(|_| corrupt("account id"))?,
        chat_id: row.peer_id,
        entity: Entity {
            kind: EntityType::parse(&row.entity_type).ok_or_else(|| corrupt("entity type"))?,
            id: row.entity_id.clone(),
        },
        created_by: row.created_by.clone(),
        request_id: row.request_id.clone(),
        created_at: row.created_at,
        id: row.id,
    })
}

fn link_of(tenant: &TenantId, account: AccountId, chat_id: i64, entity: &Entity) -> Condition {
    Condition::all()
        .add(crm_links::Column::TenantId.eq(tenant.as_str()))
        .add(crm_links::Column::AccountId.eq(account.to_string()))
        .add(crm_links::Column::PeerId.eq(chat_id))
        .add(crm_links::Column::EntityType.eq(entity.kind.as_str()))
        .add(crm_links::Column::EntityId.eq(entity.id.as_str()))
}

async fn by_request(
    db: &impl ConnectionTrait,
    tenant: &TenantId,
    request_id: &str,
) -> Result<Option<ChatLink>, StoreError> {
    crm_links::Entity::find()
        .filter(crm_links::Column::TenantId.eq(tenant.as_str()))
        .filter(crm_links::Column::RequestId.eq(request_id))
        .one(db)
        .await
        .store_err(LINK)?
        .map(link_from_row)
        .transpose()
}

/// chat_known tells whether the account has the chat stored, or a stored
/// contact whose private chat it is.
async fn chat_known(
    db: &impl ConnectionTrait,
    tenant: &TenantId,
    account: AccountId,
    chat_id: i64,
) -> Result<bool, StoreError> {
    let chat = chats::Entity::find_by_id((account.to_string(), chat_id))
        .filter(chats::Column::TenantId.eq(tenant.as_str()))
        .one(db)
        .await
        .store_err(CHAT)?;
    if chat.is_some() {
        return Ok(true);
    }
    if chat_id <= 0 {
        return Ok(false);
    }
    Ok(contacts::Entity::find_by_id((account.to_string(), chat_id))
        .filter(contacts::Column::TenantId.eq(tenant.as_str()))
        .one(db)
        .await
        .store_err(CHAT)?
        .is_some())
}

/// move_links moves the account's links of a basic group to the
/// supergroup Telegram migrated it to, keeping each link's id, author,
/// request id and creation time; a record the supergroup is linked to
/// already keeps that link, and the group's is dropped (one link per chat
/// and record). Returns a `ChatLinked` event per record that followed,
/// naming the group it left; none when the group has no links (any more).
/// Runs inside the transaction storing the migration's service message.
pub(super) async fn move_links(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    migration: Migration,
    now: DateTime<Utc>,
) -> Result<Vec<EventPayload>, StoreError> {
    let rows = crm_links::Entity::find()
        .filter(crm_links::Column::TenantId.eq(tenant.as_str()))
        .filter(crm_links::Column::AccountId.eq(account.to_string()))
        .filter(crm_links::Column::PeerId.eq(migration.from))
        .order_by_asc(crm_links::Column::Id)
        .all(txn)
        .await
        .store_err(LINK)?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let link = link_from_row(row)?;
        let there = crm_links::Entity::find()
            .filter(link_of(tenant, account, migration.to, &link.entity))
            .one(txn)
            .await
            .store_err(LINK)?;
        let kept = match there {
            Some(row) => {
                crm_links::Entity::delete_by_id(link.id.clone())
                    .exec(txn)
                    .await
                    .store_err(LINK)?;
                link_from_row(row)?
            }
            None => {
                crm_links::Entity::update_many()
                    .col_expr(crm_links::Column::PeerId, Expr::value(migration.to))
                    .col_expr(crm_links::Column::UpdatedAt, Expr::value(now))
                    .filter(crm_links::Column::Id.eq(link.id.as_str()))
                    .exec(txn)
                    .await
                    .store_err(LINK)?;
                ChatLink {
                    chat_id: migration.to,
                    ..link
                }
            }
        };
        events.push(EventPayload::ChatLinked {
            chat_id: migration.to,
            entity: kept.linked(),
            previous_chat_id: Some(migration.from),
        });
    }
    Ok(events)
}

/// attach_links fills in the linked records of `chats` (one query).
pub(super) async fn attach_links(
    db: &impl ConnectionTrait,
    chats: &mut [Chat],
) -> Result<(), StoreError> {
    if chats.is_empty() {
        return Ok(());
    }
    let mut any = Condition::any();
    for chat in chats.iter() {
        any = any.add(
            Condition::all()
                .add(crm_links::Column::AccountId.eq(chat.account_id.to_string()))
                .add(crm_links::Column::PeerId.eq(chat.profile.chat_id)),
        );
    }
    let rows = crm_links::Entity::find()
        .filter(any)
        .order_by_asc(crm_links::Column::Id)
        .all(db)
        .await
        .store_err(LINK)?;
    for row in rows {
        let link = link_from_row(row)?;
        if let Some(chat) = chats
            .iter_mut()
            .find(|c| c.account_id == link.account && c.profile.chat_id == link.chat_id)
        {
            chat.linked.push(link.linked());
        }
    }
    Ok(())
}

/// chat_of_contact is the private chat of a contact the account has no
/// conversation with yet.
fn chat_of_contact(account: AccountId, contact: &Contact) -> Chat {
    Chat {
        account_id: account,
        profile: contact.profile(),
        about: None,
        full_profile_at: None,
        unread_count: 0,
        read_inbox_max_id: 0,
        read_outbox_max_id: 0,
        muted_until: None,
        pinned: false,
        archived: false,
        last_message: None,
        updated_at: Utc::now(),
        linked: Vec::new(),
    }
}

/// reasons_for is every way `chat` matches `contact`, best first.
fn reasons_for(chat: &Chat, contact: &EntityContact) -> Vec<MatchReason> {
    let profile = &chat.profile;
    let mut reasons = Vec::new();
    if profile
        .phone_number
        .as_ref()
        .is_some_and(|p| contact.phone_digits.contains(p))
    {
        reasons.push(MatchReason::PhoneNumber);
    }
    if profile
        .username
        .as_ref()
        .is_some_and(|u| contact.usernames.contains(&u.to_ascii_lowercase()))
    {
        reasons.push(MatchReason::Username);
    }
    if let Some(name) = &contact.name {
        let full = format!(
            "{} {}",
            profile.first_name.as_deref().unwrap_or_default(),
            profile.last_name.as_deref().unwrap_or_default()
        );
        if &fold_name(&profile.title) == name || &fold_name(&full) == name {
            reasons.push(MatchReason::Name);
        }
    }
    reasons
}

fn lower(column: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Expr::expr(Func::lower(Expr::col(column)))
}

#[async_trait]
impl LinkStore for Store {
    async fn link(&self, tenant: &TenantId, link: &ChatLink) -> Result<ChatLink, StoreError> {
        let txn = self.begin_write().await?;
        if let Some(request_id) = &link.request_id
            && let Some(stored) = by_request(&txn, tenant, request_id).await?
        {
            return Ok(stored);
        }
        if !chat_known(&txn, tenant, link.account, link.chat_id).await? {
            return Err(StoreError::NotFound { resource: CHAT });
        }
        let row = crm_links::ActiveModel {
            id: Set(link.id.clone()),
            tenant_id: Set(tenant.as_str().to_owned()),
            account_id: Set(link.account.to_string()),
            peer_id: Set(link.chat_id),
            entity_type: Set(link.entity.kind.as_str().to_owned()),
            entity_id: Set(link.entity.id.clone()),
            created_by: Set(link.created_by.clone()),
            request_id: Set(link.request_id.clone()),
            created_at: Set(link.created_at),
            updated_at: Set(link.created_at),
        };
        let inserted = crm_links::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .store_err(LINK);
        match inserted {
            Ok(_) => {}
            Err(StoreError::AlreadyExists { .. }) => {
                drop(txn);
                // A racing call with the same request id made it first: its link.
                if let Some(request_id) = &link.request_id
                    && let Some(stored) = by_request(self.connection(), tenant, request_id).await?
                {
                    return Ok(stored);
                }
                return Err(StoreError::AlreadyExists { resource: LINK });
            }
            Err(err) => return Err(err),
        }
        let event = NewEvent {
            tenant: tenant.clone(),
            account: Some(link.account),
            payload: EventPayload::ChatLinked {
                chat_id: link.chat_id,
                entity: link.linked(),
                previous_chat_id: None,
            },
        };
        self.commit_with_events(txn, &[event], LINK).await?;
        Ok(link.clone())
    }

    async fn unlink(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        entity: &Entity,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let Some(row) = crm_links::Entity::find()
            .filter(link_of(tenant, account, chat_id, entity))
            .one(&txn)
            .await
            .store_err(LINK)?
        else {
            return Err(StoreError::NotFound { resource: LINK });
        };
        let link = link_from_row(row)?;
        let deleted = crm_links::Entity::delete_by_id(link.id.clone())
            .exec(&txn)
            .await
            .store_err(LINK)?
            .rows_affected;
        if deleted == 0 {
            return Err(StoreError::NotFound { resource: LINK });
        }
        let event = NewEvent {
            tenant: tenant.clone(),
            account: Some(account),
            payload: EventPayload::ChatUnlinked {
                chat_id,
                entity: LinkedEntity {
                    entity: link.entity,
                    linked_at: link.created_at,
                },
            },
        };
        self.commit_with_events(txn, &[event], LINK).await
    }

    async fn links(
        &self,
        tenant: &TenantId,
        filter: &LinkFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<LinkPage, StoreError> {
        let mut query =
            crm_links::Entity::find().filter(crm_links::Column::TenantId.eq(tenant.as_str()));
        match filter {
            LinkFilter::All => {}
            LinkFilter::Chat { account, chat_id } => {
                query = query
                    .filter(crm_links::Column::AccountId.eq(account.to_string()))
                    .filter(crm_links::Column::PeerId.eq(*chat_id));
            }
            LinkFilter::Entity(entity) => {
                query = query
                    .filter(crm_links::Column::EntityType.eq(entity.kind.as_str()))
                    .filter(crm_links::Column::EntityId.eq(entity.id.as_str()));
            }
        }
        if let Some(after) = after {
            query = query.filter(crm_links::Column::Id.lt(after));
        }
        // Ids are UUIDv7: newest first is descending id.
        let rows = query
            .order_by_desc(crm_links::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.connection())
            .await
            .store_err(LINK)?;
        let more = rows.len() > limit as usize;
        let links = rows
            .into_iter()
            .take(limit as usize)
            .map(link_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = more.then(|| links.last().map(|l| l.id.clone())).flatten();
        Ok(LinkPage { links, next })
    }

    async fn suggest(
        &self,
        tenant: &TenantId,
        account: Option<AccountId>,
        contact: &EntityContact,
    ) -> Result<Vec<Suggestion>, StoreError> {
        let db = self.connection();
        let mut chat_query = Condition::any();
        let mut contact_query = Condition::any();
        if !contact.phone_digits.is_empty() {
            chat_query =
                chat_query.add(chats::Column::PhoneNumber.is_in(contact.phone_digits.clone()));
            contact_query = contact_query
                .add(contacts::Column::PhoneNumber.is_in(contact.phone_digits.clone()));
        }
        if !contact.usernames.is_empty() {
            chat_query =
                chat_query.add(lower(chats::Column::Username).is_in(contact.usernames.clone()));
            contact_query = contact_query
                .add(lower(contacts::Column::Username).is_in(contact.usernames.clone()));
        }
        if let Some(name) = &contact.name {
            chat_query = chat_query.add(lower(chats::Column::Title).eq(name.as_str()));
        }
        let mut chat_rows = chats::Entity::find()
            .filter(chats::Column::TenantId.eq(tenant.as_str()))
            .filter(chat_query);
        let mut contact_rows = contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(tenant.as_str()))
            .filter(contact_query);
        if let Some(account) = account {
            chat_rows = chat_rows.filter(chats::Column::AccountId.eq(account.to_string()));
            contact_rows = contact_rows.filter(contacts::Column::AccountId.eq(account.to_string()));
        }
        let chat_rows = chat_rows
            .order_by_desc(chats::Column::SortKey)
            .limit(CANDIDATES)
            .all(db)
            .await
            .store_err(CHAT)?;
        let contact_rows = if contact.phone_digits.is_empty() && contact.usernames.is_empty() {
            Vec::new()
        } else {
            contact_rows
                .limit(CANDIDATES)
                .all(db)
                .await
                .store_err(CHAT)?
        };
        // Activity orders equal scores: chats by their list position, then
        // contacts without a conversation.
        let mut found: Vec<Suggestion> = super::chats::attach_last_messages(db, chat_rows)
            .await?
            .into_iter()
            .map(|chat| Suggestion {
                reasons: reasons_for(&chat, contact),
                chat,
            })
            .collect();
        let mut strangers: Vec<Chat> = Vec::new();
        for row in contact_rows {
            let Ok(owner) = row.account_id.parse::<AccountId>() else {
                return Err(StoreError::Corrupt(format!(
                    "contact account id {}",
                    row.account_id
                )));
            };
            let person = super::contacts::contact_from_row(row);
            let as_chat = chat_of_contact(owner, &person);
            let reasons = reasons_for(&as_chat, contact);
            match found
                .iter_mut()
                .find(|s| s.chat.account_id == owner && s.chat.profile.chat_id == person.user_id)
            {
                // The contact's number or username can match where the
                // chat's stored profile does not show them.
                Some(known) => {
                    for reason in reasons {
                        if !known.reasons.contains(&reason) {
                            known.reasons.push(reason);
                        }
                    }
                }
                None if !reasons.is_empty() => strangers.push(as_chat),
                None => {}
            }
        }
        // Chats from stored rows carry their links already; contacts'
        // private chats get theirs here (a contact can be linked first).
        attach_links(db, &mut strangers).await?;
        for chat in strangers {
            found.push(Suggestion {
                reasons: reasons_for(&chat, contact),
                chat,
            });
        }
        found.retain(|s| !s.reasons.is_empty());
        for suggestion in &mut found {
            suggestion.reasons.sort();
        }
        // A stable sort keeps activity order among equal scores.
        found.sort_by(|a, b| b.score().total_cmp(&a.score()));
        found.truncate(MAX_SUGGESTIONS);
        Ok(found)
    }
}
