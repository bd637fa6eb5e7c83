//! `ChatStore` on the `chats` and `messages` tables.
//!
//! Writers: ingest (the account's supervisor, one task per account, in
//! update order), dialog loads and history backfills (RPCs). Every write is
//! an upsert inside one transaction, so replaying a change (a catch-up after
//! a crash re-delivers what was stored but not yet acknowledged) leaves the
//! same rows. Counters (unread, message count) move only when a message row
//! is new, so a replay does not count twice.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, LikeExpr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseTransaction, DbBackend, EntityTrait, IdenStatic, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TryIntoModel,
};

use super::entities::{accounts, chats, messages};
use super::{Store, StoreResultExt};
use crate::domain::chat::{
    CHANNEL_ID_OFFSET, Change, Chat, ChatCursor, ChatFilter, ChatKind, ChatPage, ChatProfile,
    Dialog, FullProfile, HistoryDirection, Message, MessageState, Migration, SearchCursor,
    SearchPage, SearchQuery, Touched,
};
use crate::domain::event::{EventPayload, NewEvent};
use crate::domain::lease::Fence;
use crate::domain::ports::{ChatStore, HistoryCoverage, StoreError};
use crate::domain::{AccountId, TenantId};

const CHAT: &str = "chat";
const MESSAGE: &str = "message";

/// PINNED_BIT lifts pinned chats above every activity time (milliseconds
/// since the epoch stay far below 2^50 until the year 37000).
const PINNED_BIT: i64 = 1 << 50;

/// sort_key orders the chat list, descending: pinned first, then newest activity.
pub(crate) fn sort_key(pinned: bool, activity: Option<DateTime<Utc>>) -> i64 {
    let millis = activity.map_or(0, |t| t.timestamp_millis().max(0));
    if pinned { PINNED_BIT + millis } else { millis }
}

/// is_channel says whether a Bot API chat id is a supergroup or channel.
fn is_channel(chat_id: i64) -> bool {
    chat_id < -CHANNEL_ID_OFFSET
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored values serialize to json")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("{what}: {err}")))
}

fn message_row(tenant: &TenantId, message: &Message, now: DateTime<Utc>) -> messages::ActiveModel {
    messages::ActiveModel {
        account_id: Set(message.account_id.to_string()),
        peer_id: Set(message.chat_id),
        message_id: Set(message.message_id),
        tenant_id: Set(tenant.as_str().to_owned()),
        sender_id: Set(message.sender_id),
        outgoing: Set(message.outgoing),
        text: Set(message.text.clone()),
        entities: Set(json(&message.entities)),
        media: Set(message.media.as_ref().map(json)),
        reply_to: Set(message.reply_to),
        forward_from: Set(message.forward.as_ref().map(json)),
        grouped_id: Set(message.grouped_id),
        sent_at: Set(message.sent_at),
        edited_at: Set(message.edited_at),
        views: Set(message.views),
        state: Set(message.state.as_str().to_owned()),
        request_id: Set(message.request_id.clone()),
        action: Set(message.action.as_ref().map(json)),
        error_reason: Set(message.error_reason.clone()),
        edit_version: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

fn message_from_row(row: messages::Model) -> Result<Message, StoreError> {
    Ok(Message {
        account_id: row
            .account_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("message account id {}", row.account_id)))?,
        chat_id: row.peer_id,
        message_id: row.message_id,
        sender_id: row.sender_id,
        outgoing: row.outgoing,
        text: row.text,
        entities: from_json(&row.entities, "message entities")?,
        media: row
            .media
            .as_deref()
            .map(|m| from_json(m, "message media"))
            .transpose()?,
        reply_to: row.reply_to,
        forward: row
            .forward_from
            .as_deref()
            .map(|f| from_json(f, "forward header"))
            .transpose()?,
        grouped_id: row.grouped_id,
        action: row
            .action
            .as_deref()
            .map(|a| from_json(a, "message action"))
            .transpose()?,
        sent_at: row.sent_at,
        edited_at: row.edited_at,
        views: row.views,
        state: MessageState::parse(&row.state)
            .ok_or_else(|| StoreError::Corrupt(format!("message state {}", row.state)))?,
        request_id: row.request_id,
        error_reason: row.error_reason,
    })
}

fn chat_from_row(row: chats::Model, last_message: Option<Message>) -> Result<Chat, StoreError> {
    Ok(Chat {
        account_id: row
            .account_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("chat account id {}", row.account_id)))?,
        profile: ChatProfile {
            chat_id: row.peer_id,
            kind: ChatKind::parse(&row.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("chat kind {}", row.kind)))?,
            title: row.title,
            username: row.username,
            first_name: row.first_name,
            last_name: row.last_name,
            phone_number: row.phone_number,
            member_count: row.member_count,
            access_hash: row.access_hash,
        },
        about: row.about,
        full_profile_at: row.full_profile_at,
        unread_count: row.unread_count,
        read_inbox_max_id: row.read_inbox_max_id,
        read_outbox_max_id: row.read_outbox_max_id,
        muted_until: row.muted_until,
        pinned: row.pinned,
        archived: row.archived,
        last_message,
        updated_at: row.updated_at,
        linked: Vec::new(),
    })
}

/// guess_kind is a chat's kind from its id alone, for a chat first seen in
/// a message whose profile did not come with it; a later profile corrects it.
fn guess_kind(chat_id: i64) -> ChatKind {
    if chat_id > 0 {
        ChatKind::Private
    } else if is_channel(chat_id) {
        ChatKind::Supergroup
    } else {
        ChatKind::Group
    }
}

fn new_chat_row(
    tenant: &TenantId,
    account: AccountId,
    profile: &ChatProfile,
    now: DateTime<Utc>,
) -> chats::ActiveModel {
    chats::ActiveModel {
        account_id: Set(account.to_string()),
        peer_id: Set(profile.chat_id),
        tenant_id: Set(tenant.as_str().to_owned()),
        kind: Set(profile.kind.as_str().to_owned()),
        title: Set(profile.title.clone()),
        username: Set(profile.username.clone()),
        first_name: Set(profile.first_name.clone()),
        last_name: Set(profile.last_name.clone()),
        about: Set(None),
        member_count: Set(profile.member_count),
        unread_count: Set(0),
        last_message_id: Set(None),
        top_message_date: Set(None),
        pinned: Set(false),
        archived: Set(false),
        access_hash: Set(profile.access_hash),
        read_inbox_max_id: Set(0),
        read_outbox_max_id: Set(0),
        muted_until: Set(None),
        phone_number: Set(profile.phone_number.clone()),
        sort_key: Set(0),
        history_floor: Set(None),
        history_complete: Set(false),
        message_count: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        full_profile_at: Set(None),
    }
}

async fn find_chat(
    txn: &impl ConnectionTrait,
    account: AccountId,
    chat_id: i64,
) -> Result<Option<chats::Model>, StoreError> {
    chats::Entity::find_by_id((account.to_string(), chat_id))
        .one(txn)
        .await
        .store_err(CHAT)
}

/// upsert_profile writes what Telegram says about a chat, keeping what it
/// did not say (an access hash, a member count) as stored; the row, and
/// whether the chat was new or changed.
async fn upsert_profile(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    profile: &ChatProfile,
    now: DateTime<Utc>,
) -> Result<(chats::Model, bool), StoreError> {
    let Some(row) = find_chat(txn, account, profile.chat_id).await? else {
        chats::Entity::insert(new_chat_row(tenant, account, profile, now))
            .exec_without_returning(txn)
            .await
            .store_err(CHAT)?;
        let row = find_chat(txn, account, profile.chat_id)
            .await?
            .ok_or(StoreError::NotFound { resource: CHAT })?;
        return Ok((row, true));
    };
    let mut merged = row.clone();
    merged.kind = profile.kind.as_str().to_owned();
    if !profile.title.is_empty() {
        merged.title = profile.title.clone();
    }
    merged.username = profile.username.clone();
    if profile.first_name.is_some() {
        merged.first_name = profile.first_name.clone();
        merged.last_name = profile.last_name.clone();
    }
    if profile.phone_number.is_some() {
        merged.phone_number = profile.phone_number.clone();
    }
    if profile.member_count.is_some() {
        merged.member_count = profile.member_count;
    }
    if profile.access_hash.is_some() {
        merged.access_hash = profile.access_hash;
    }
    if merged == row {
        // Telegram said nothing new (most history pages and updates).
        return Ok((row, false));
    }
    merged.updated_at = now;
    let mut active: chats::ActiveModel = merged.into();
    // Only what a profile says is written back.
    for column in [
        chats::Column::Kind,
        chats::Column::Title,
        chats::Column::Username,
        chats::Column::FirstName,
        chats::Column::LastName,
        chats::Column::PhoneNumber,
        chats::Column::MemberCount,
        chats::Column::AccessHash,
        chats::Column::UpdatedAt,
    ] {
        active.reset(column);
    }
    let row = chats::Entity::update(active)
        .exec(txn)
        .await
        .store_err(CHAT)?;
    Ok((row, true))
}

/// lock_account serializes the transactions writing one account's chats
/// and messages: ingest, a chat-list load, a history backfill and the
/// outbox's `mark_sent` may touch the same chat row at once, and each
/// computes counters from what it read. On PostgreSQL the account's row is
/// locked (`FOR UPDATE`) until the transaction ends, so a second writer
/// waits and then reads what the first committed; on SQLite write
/// transactions are IMMEDIATE, serialized already.
pub(super) async fn lock_account(
    txn: &DatabaseTransaction,
    account: AccountId,
) -> Result<(), StoreError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        accounts::Entity::find_by_id(account.to_string())
            .lock_exclusive()
            .one(txn)
            .await
            .store_err("account")?;
    }
    Ok(())
}

/// ensure_chat is the chat's row, created from its id alone when no
/// profile arrived for it yet.
async fn ensure_chat(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    chat_id: i64,
    now: DateTime<Utc>,
) -> Result<chats::Model, StoreError> {
    if let Some(row) = find_chat(txn, account, chat_id).await? {
        return Ok(row);
    }
    let profile = ChatProfile {
        chat_id,
        kind: guess_kind(chat_id),
        title: String::new(),
        username: None,
        first_name: None,
        last_name: None,
        phone_number: None,
        member_count: None,
        access_hash: None,
    };
    Ok(upsert_profile(txn, tenant, account, &profile, now).await?.0)
}

/// MESSAGE_UPDATES are the columns an upsert of a known message rewrites.
const MESSAGE_UPDATES: [messages::Column; 17] = [
    messages::Column::SenderId,
    messages::Column::Outgoing,
    messages::Column::Text,
    messages::Column::Entities,
    messages::Column::Media,
    messages::Column::ReplyTo,
    messages::Column::ForwardFrom,
    messages::Column::GroupedId,
    messages::Column::SentAt,
    messages::Column::EditedAt,
    messages::Column::Views,
    messages::Column::State,
    messages::Column::RequestId,
    messages::Column::Action,
    messages::Column::ErrorReason,
    messages::Column::EditVersion,
    messages::Column::UpdatedAt,
];

fn message_conflict() -> OnConflict {
    OnConflict::columns([
        messages::Column::AccountId,
        messages::Column::PeerId,
        messages::Column::MessageId,
    ])
    .update_columns(MESSAGE_UPDATES)
    .to_owned()
}

/// merged_row is the row to write for `message` over the stored copy, or
/// `None` when the stored copy is newer: a higher edit version, or
/// (between writes without versions, e.g. a history page fetched before an
/// edit and stored after it) a later edit. `edit_version` is the pts of the
/// update reporting an edit. What the gateway knows and Telegram does not
/// repeat (the request id, when it was first stored, the edit version)
/// survives.
fn merged_row(
    tenant: &TenantId,
    message: &Message,
    edit_version: Option<i64>,
    stored: Option<&messages::Model>,
    now: DateTime<Utc>,
) -> Option<messages::ActiveModel> {
    if let Some(old) = stored {
        let newer_stored = match (old.edit_version, edit_version) {
            (Some(stored), Some(version)) => stored > version,
            _ => old.edited_at > message.edited_at,
        };
        if newer_stored {
            return None;
        }
    }
    let mut row = message_row(tenant, message, now);
    row.edit_version = Set(edit_version.or(stored.and_then(|old| old.edit_version)));
    if let Some(old) = stored {
        row.created_at = Set(old.created_at);
        if message.request_id.is_none() {
            row.request_id = Set(old.request_id.clone());
        }
    }
    Some(row)
}

/// Upserted is what an upsert of a message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Upserted {
    /// The message was not stored before.
    new: bool,
    /// A stored copy got the request id of the send it came from.
    request_attached: bool,
    /// A stored copy's text, entities or edit time changed.
    edited: bool,
    /// The request id the stored copy keeps (the write carried none).
    kept_request_id: Option<String>,
}

/// upsert_message stores a message (see [`merged_row`]) and says what
/// that did.
async fn upsert_message(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    message: &Message,
    edit_version: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Upserted, StoreError> {
    let existed = messages::Entity::find_by_id((
        message.account_id.to_string(),
        message.chat_id,
        message.message_id,
    ))
    .one(txn)
    .await
    .store_err(MESSAGE)?;
    let Some(row) = merged_row(tenant, message, edit_version, existed.as_ref(), now) else {
        return Ok(Upserted::default());
    };
    messages::Entity::insert(row)
        .on_conflict(message_conflict())
        .exec_without_returning(txn)
        .await
        .store_err(MESSAGE)?;
    Ok(match existed {
        None => Upserted {
            new: true,
            ..Upserted::default()
        },
        Some(old) => Upserted {
            new: false,
            request_attached: old.request_id.is_none() && message.request_id.is_some(),
            edited: old.text != message.text
                || old.edited_at != message.edited_at
                || old.entities != json(&message.entities),
            kept_request_id: old.request_id,
        },
    })
}

/// UPSERT_BATCH is how many messages one statement of a page upsert writes.
const UPSERT_BATCH: usize = 100;

/// upsert_page stores a page of one chat's messages (a history load) as
/// [`upsert_message`] would, in two statements per [`UPSERT_BATCH`]: one
/// read of the stored copies, one multi-row upsert.
async fn upsert_page(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    chat_id: i64,
    page: &[Message],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for batch in page.chunks(UPSERT_BATCH) {
        // A history page is a run of ids: one range scan finds the stored
        // copies (an IN list of a hundred ids took longer to plan).
        let (low, high) = batch.iter().fold((i64::MAX, i64::MIN), |(low, high), m| {
            (low.min(m.message_id), high.max(m.message_id))
        });
        let stored: std::collections::HashMap<i64, messages::Model> = messages::Entity::find()
            .filter(messages::Column::AccountId.eq(account.to_string()))
            .filter(messages::Column::PeerId.eq(chat_id))
            .filter(messages::Column::MessageId.between(low, high))
            .all(txn)
            .await
            .store_err(MESSAGE)?
            .into_iter()
            .map(|row| (row.message_id, row))
            .collect();
        let mut rows = Vec::with_capacity(batch.len());
        for message in batch {
            if message.chat_id != chat_id || message.account_id != account {
                upsert_message(txn, tenant, message, None, now).await?;
                continue;
            }
            rows.extend(merged_row(
                tenant,
                message,
                None,
                stored.get(&message.message_id),
                now,
            ));
        }
        if rows.is_empty() {
            continue;
        }
        if txn.get_database_backend() == DbBackend::Postgres {
            insert_rows_as_json(txn, rows).await?;
        } else {
            messages::Entity::insert_many(rows)
                .on_conflict(message_conflict())
                .exec_without_returning(txn)
                .await
                .store_err(MESSAGE)?;
        }
    }
    Ok(())
}

/// MessageRecord is a `messages` row as `json_to_recordset` reads it
/// (every written column; [`MESSAGE_RECORD`] gives their types).
#[derive(serde::Serialize)]
struct MessageRecord<'a> {
    account_id: &'a str,
    peer_id: i64,
    message_id: i64,
    tenant_id: &'a str,
    sender_id: Option<i64>,
    outgoing: bool,
    text: &'a str,
    entities: &'a str,
    media: Option<&'a str>,
    reply_to: Option<i64>,
    forward_from: Option<&'a str>,
    grouped_id: Option<i64>,
    sent_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    views: Option<i32>,
    state: &'a str,
    request_id: Option<&'a str>,
    action: Option<&'a str>,
    error_reason: Option<&'a str>,
    edit_version: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a messages::Model> for MessageRecord<'a> {
    fn from(m: &'a messages::Model) -> Self {
        Self {
            account_id: &m.account_id,
            peer_id: m.peer_id,
            message_id: m.message_id,
            tenant_id: &m.tenant_id,
            sender_id: m.sender_id,
            outgoing: m.outgoing,
            text: &m.text,
            entities: &m.entities,
            media: m.media.as_deref(),
            reply_to: m.reply_to,
            forward_from: m.forward_from.as_deref(),
            grouped_id: m.grouped_id,
            sent_at: m.sent_at,
            edited_at: m.edited_at,
            views: m.views,
            state: &m.state,
            request_id: m.request_id.as_deref(),
            action: m.action.as_deref(),
            error_reason: m.error_reason.as_deref(),
            edit_version: m.edit_version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// MESSAGE_RECORD names [`MessageRecord`]'s columns with their PostgreSQL
/// types, in its order.
const MESSAGE_RECORD: &str = "account_id text, peer_id bigint, message_id bigint, \
    tenant_id text, sender_id bigint, outgoing boolean, text text, entities text, media text, \
    reply_to bigint, forward_from text, grouped_id bigint, sent_at timestamptz, \
    edited_at timestamptz, views integer, state text, request_id text, action text, \
    error_reason text, edit_version bigint, created_at timestamptz, updated_at timestamptz";

/// insert_rows_as_json upserts a page's rows on PostgreSQL in one
/// statement whose rows travel as one JSON array, read back by
/// `json_to_recordset`: one bind parameter however long the page, and one
/// statement shape the server plans once (a multi-row VALUES binds 22
/// parameters a row, and was most of a backfill's time).
async fn insert_rows_as_json(
    txn: &DatabaseTransaction,
    rows: Vec<messages::ActiveModel>,
) -> Result<(), StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let columns: Vec<&str> = MESSAGE_RECORD
            .split(',')
            .map(|c| c.split_whitespace().next().expect("a column name"))
            .collect();
        let updates: Vec<String> = MESSAGE_UPDATES
            .iter()
            .map(|c| format!("{0} = EXCLUDED.{0}", c.as_str()))
            .collect();
        format!(
            "INSERT INTO messages ({columns}) SELECT {columns} \
             FROM json_to_recordset($1::json) AS r({MESSAGE_RECORD}) \
             ON CONFLICT (account_id, peer_id, message_id) DO UPDATE SET {updates}",
            columns = columns.join(", "),
            updates = updates.join(", "),
        )
    });
    let models = rows
        .into_iter()
        .map(|row| row.try_into_model().store_err(MESSAGE))
        .collect::<Result<Vec<_>, _>>()?;
    let records: Vec<MessageRecord<'_>> = models.iter().map(MessageRecord::from).collect();
    let json = serde_json::to_string(&records).expect("message rows serialize");
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        SQL.as_str(),
        [json.into()],
    ))
    .await
    .store_err(MESSAGE)?;
    Ok(())
}

/// raise_top makes `message` the chat's newest message if it is newer.
fn raise_top(active: &mut chats::ActiveModel, row: &chats::Model, message: &Message) {
    if row.last_message_id.unwrap_or(0) < message.message_id {
        active.last_message_id = Set(Some(message.message_id));
        active.top_message_date = Set(Some(message.sent_at));
        active.sort_key = Set(sort_key(row.pinned, Some(message.sent_at)));
    }
}

/// Recorder collects, in order, the events of the changes one transaction
/// applies. A chat's event carries the chat as the transaction leaves it,
/// so it is read in [`Recorder::finish`], right before the commit.
#[derive(Default)]
pub(super) struct Recorder {
    entries: Vec<Recorded>,
}

enum Recorded {
    Ready(EventPayload),
    Chat(i64),
}

impl Recorder {
    fn push(&mut self, payload: EventPayload) {
        self.entries.push(Recorded::Ready(payload));
    }

    fn chat(&mut self, chat_id: i64) {
        let known = |entry: &Recorded| matches!(entry, Recorded::Chat(c) if *c == chat_id);
        if !self.entries.iter().any(known) {
            self.entries.push(Recorded::Chat(chat_id));
        }
    }

    /// finish turns what was recorded into the events to append.
    pub(super) async fn finish(
        self,
        txn: &DatabaseTransaction,
        tenant: &TenantId,
        account: AccountId,
    ) -> Result<Vec<NewEvent>, StoreError> {
        let mut events = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            let payload = match entry {
                Recorded::Ready(payload) => payload,
                Recorded::Chat(chat_id) => {
                    let Some(row) = find_chat(txn, account, chat_id).await? else {
                        continue;
                    };
                    let chat = attach_last_messages(txn, vec![row]).await?.remove(0);
                    EventPayload::ChatUpdated {
                        chat: Box::new(chat),
                    }
                }
            };
            events.push(NewEvent {
                tenant: tenant.clone(),
                account: Some(account),
                payload,
            });
        }
        Ok(events)
    }
}

/// apply_change stores one change, noting the chats it touched and the
/// events it makes: a message new to the store, one that took an edit or
/// the request id of its send, messages that were deleted, read marks
/// that moved, a chat new to the account or whose profile changed. A
/// replayed change stores nothing new and makes no event.
pub(super) async fn apply_change(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    change: &Change,
    now: DateTime<Utc>,
    touched: &mut Touched,
    events: &mut Recorder,
) -> Result<(), StoreError> {
    match change {
        Change::Profile(profile) => {
            let (_, changed) = upsert_profile(txn, tenant, account, profile, now).await?;
            if changed {
                events.chat(profile.chat_id);
            }
            touched.add(profile.chat_id);
        }
        Change::NewMessage { message, live } => {
            let row = ensure_chat(txn, tenant, account, message.chat_id, now).await?;
            let upserted = upsert_message(txn, tenant, message, None, now).await?;
            if upserted.new || upserted.request_attached {
                events.push(EventPayload::MessageCreated {
                    message: Box::new(message.clone()),
                });
            }
            let new = upserted.new;
            let mut active: chats::ActiveModel = row.clone().into();
            raise_top(&mut active, &row, message);
            if new {
                if !message.outgoing && message.message_id > row.read_inbox_max_id {
                    active.unread_count = Set(row.unread_count + 1);
                }
                if let Some(count) = row.message_count {
                    active.message_count = Set(Some(count + 1));
                }
            }
            if message.outgoing && message.message_id > row.read_inbox_max_id {
                // Writing in a chat reads it, as in every Telegram app.
                active.read_inbox_max_id = Set(message.message_id);
                active.unread_count = Set(0);
            }
            if *live && row.history_floor.is_none() {
                // A live message is the chat's newest: the stored suffix
                // from it upwards is complete.
                active.history_floor = Set(Some(message.message_id));
            }
            active.updated_at = Set(now);
            chats::Entity::update(active)
                .exec(txn)
                .await
                .store_err(CHAT)?;
            touched.add(message.chat_id);
            // Not only when the message is new: a history page may have
            // stored it first, and a move finds nothing the second time.
            if let Some(migration) = message.migration() {
                follow_migration(txn, tenant, account, migration, now, touched, events).await?;
            }
        }
        Change::Edited { message, version } => {
            ensure_chat(txn, tenant, account, message.chat_id, now).await?;
            let upserted = upsert_message(txn, tenant, message, *version, now).await?;
            if upserted.new || upserted.edited {
                let mut message = message.clone();
                if message.request_id.is_none() {
                    message.request_id = upserted.kept_request_id;
                }
                events.push(EventPayload::MessageEdited {
                    message: Box::new(message),
                });
            }
            touched.add(message.chat_id);
        }
        Change::Deleted {
            chat_id,
            message_ids,
        } => {
            let mut query = messages::Entity::find()
                .filter(messages::Column::AccountId.eq(account.to_string()))
                .filter(messages::Column::MessageId.is_in(message_ids.iter().copied()));
            query = match chat_id {
                Some(chat) => query.filter(messages::Column::PeerId.eq(*chat)),
                None => query.filter(messages::Column::PeerId.gte(-CHANNEL_ID_OFFSET)),
            };
            let gone = query.all(txn).await.store_err(MESSAGE)?;
            if gone.is_empty() {
                if let Some(chat) = chat_id {
                    touched.add(*chat);
                }
                return Ok(());
            }
            let mut chats_hit: Vec<i64> = gone.iter().map(|m| m.peer_id).collect();
            chats_hit.sort_unstable();
            chats_hit.dedup();
            for row in &gone {
                messages::Entity::delete_by_id((
                    row.account_id.clone(),
                    row.peer_id,
                    row.message_id,
                ))
                .exec(txn)
                .await
                .store_err(MESSAGE)?;
            }
            for chat in chats_hit {
                let Some(row) = find_chat(txn, account, chat).await? else {
                    continue;
                };
                let in_chat = gone.iter().filter(|m| m.peer_id == chat);
                events.push(EventPayload::MessageDeleted {
                    chat_id: chat,
                    message_ids: in_chat.clone().map(|m| m.message_id).collect(),
                });
                let unread_gone = in_chat
                    .clone()
                    .filter(|m| !m.outgoing && m.message_id > row.read_inbox_max_id)
                    .count() as i32;
                let count_gone = in_chat.count() as i32;
                let top = messages::Entity::find()
                    .filter(messages::Column::AccountId.eq(account.to_string()))
                    .filter(messages::Column::PeerId.eq(chat))
                    .order_by_desc(messages::Column::MessageId)
                    .one(txn)
                    .await
                    .store_err(MESSAGE)?;
                let mut active: chats::ActiveModel = row.clone().into();
                active.unread_count = Set((row.unread_count - unread_gone).max(0));
                active.message_count = Set(row.message_count.map(|c| (c - count_gone).max(0)));
                active.last_message_id = Set(top.as_ref().map(|m| m.message_id));
                active.top_message_date = Set(top.as_ref().map(|m| m.sent_at));
                active.sort_key = Set(sort_key(
                    row.pinned,
                    top.as_ref().map(|m| m.sent_at).or(row.top_message_date),
                ));
                active.updated_at = Set(now);
                chats::Entity::update(active)
                    .exec(txn)
                    .await
                    .store_err(CHAT)?;
                touched.add(chat);
            }
        }
        Change::ReadInbox {
            chat_id,
            max_id,
            still_unread,
        } => {
            let row = ensure_chat(txn, tenant, account, *chat_id, now).await?;
            let max_id = (*max_id).max(row.read_inbox_max_id);
            let unread = match still_unread {
                Some(count) => *count,
                None => messages::Entity::find()
                    .filter(messages::Column::AccountId.eq(account.to_string()))
                    .filter(messages::Column::PeerId.eq(*chat_id))
                    .filter(messages::Column::Outgoing.eq(false))
                    .filter(messages::Column::MessageId.gt(max_id))
                    .count(txn)
                    .await
                    .store_err(MESSAGE)? as i32,
            };
            if max_id != row.read_inbox_max_id || unread != row.unread_count {
                events.push(EventPayload::Read {
                    chat_id: *chat_id,
                    max_message_id: max_id,
                    outgoing: false,
                    unread_count: unread,
                });
            }
            let mut active: chats::ActiveModel = row.into();
            active.read_inbox_max_id = Set(max_id);
            active.unread_count = Set(unread);
            active.updated_at = Set(now);
            chats::Entity::update(active)
                .exec(txn)
                .await
                .store_err(CHAT)?;
            touched.add(*chat_id);
        }
        Change::ReadOutbox { chat_id, max_id } => {
            let row = ensure_chat(txn, tenant, account, *chat_id, now).await?;
            if *max_id > row.read_outbox_max_id {
                events.push(EventPayload::Read {
                    chat_id: *chat_id,
                    max_message_id: *max_id,
                    outgoing: true,
                    unread_count: row.unread_count,
                });
            }
            let mut active: chats::ActiveModel = row.clone().into();
            active.read_outbox_max_id = Set((*max_id).max(row.read_outbox_max_id));
            active.updated_at = Set(now);
            chats::Entity::update(active)
                .exec(txn)
                .await
                .store_err(CHAT)?;
            touched.add(*chat_id);
        }
        Change::ScheduledSent { chat_id, sent } => {
            for (scheduled_id, message_id) in sent {
                let Some(request_id) = super::outbox::scheduled_sent(
                    txn,
                    account,
                    *chat_id,
                    *scheduled_id,
                    *message_id,
                )
                .await?
                else {
                    continue;
                };
                // The message it became carries the send's request id
                // (its update came first, or comes later from history).
                let attached = messages::Entity::update_many()
                    .col_expr(messages::Column::RequestId, Expr::value(request_id))
                    .filter(messages::Column::AccountId.eq(account.to_string()))
                    .filter(messages::Column::PeerId.eq(*chat_id))
                    .filter(messages::Column::MessageId.eq(*message_id))
                    .filter(messages::Column::RequestId.is_null())
                    .exec(txn)
                    .await
                    .store_err(MESSAGE)?;
                if attached.rows_affected > 0 {
                    // Telegram reported the message before saying which
                    // send it was: it is announced again, with the send's
                    // request id.
                    let row =
                        messages::Entity::find_by_id((account.to_string(), *chat_id, *message_id))
                            .one(txn)
                            .await
                            .store_err(MESSAGE)?;
                    if let Some(row) = row {
                        events.push(EventPayload::MessageCreated {
                            message: Box::new(message_from_row(row)?),
                        });
                    }
                }
            }
            touched.add(*chat_id);
        }
    }
    Ok(())
}

/// follow_migration moves the CRM links of a basic group to the
/// supergroup Telegram migrated it to, in the transaction storing one of
/// the migration's service messages: either of the two, in either order,
/// as often as they come (the second finds nothing left to move). Each
/// moved link is a `ChatLinked` event naming the group it left. When the
/// supergroup's profile has not arrived yet, its row starts as the group
/// it continues (Telegram keeps the title), so a link always names a chat
/// GetChat shows; its first update or history page completes it.
async fn follow_migration(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    migration: Migration,
    now: DateTime<Utc>,
    touched: &mut Touched,
    events: &mut Recorder,
) -> Result<(), StoreError> {
    let moved = super::crm::move_links(txn, tenant, account, migration, now).await?;
    if moved.is_empty() {
        return Ok(());
    }
    if find_chat(txn, account, migration.to).await?.is_none() {
        let title = find_chat(txn, account, migration.from)
            .await?
            .map(|group| group.title)
            .unwrap_or_default();
        let profile = ChatProfile {
            chat_id: migration.to,
            kind: ChatKind::Supergroup,
            title,
            username: None,
            first_name: None,
            last_name: None,
            phone_number: None,
            member_count: None,
            access_hash: None,
        };
        upsert_profile(txn, tenant, account, &profile, now).await?;
        events.chat(migration.to);
    }
    for payload in moved {
        events.push(payload);
    }
    touched.add(migration.from);
    touched.add(migration.to);
    Ok(())
}

/// attach_last_messages reads the newest message of each chat row, and
/// its links to CRM records.
pub(super) async fn attach_last_messages(
    db: &impl ConnectionTrait,
    rows: Vec<chats::Model>,
) -> Result<Vec<Chat>, StoreError> {
    let wanted: Vec<_> = rows
        .iter()
        .filter_map(|r| {
            r.last_message_id
                .map(|m| (r.account_id.clone(), r.peer_id, m))
        })
        .collect();
    let mut found = Vec::new();
    if !wanted.is_empty() {
        let mut any = Condition::any();
        for (account, peer, id) in &wanted {
            any = any.add(
                Condition::all()
                    .add(messages::Column::AccountId.eq(account.clone()))
                    .add(messages::Column::PeerId.eq(*peer))
                    .add(messages::Column::MessageId.eq(*id)),
            );
        }
        found = messages::Entity::find()
            .filter(any)
            .all(db)
            .await
            .store_err(MESSAGE)?;
    }
    let mut chats = rows
        .into_iter()
        .map(|row| {
            let last = found
                .iter()
                .find(|m| {
                    m.account_id == row.account_id
                        && m.peer_id == row.peer_id
                        && Some(m.message_id) == row.last_message_id
                })
                .cloned()
                .map(message_from_row)
                .transpose()?;
            chat_from_row(row, last)
        })
        .collect::<Result<Vec<_>, _>>()?;
    super::crm::attach_links(db, &mut chats).await?;
    Ok(chats)
}

impl Store {
    /// apply_under is `apply`, fenced by the supervisor's lease when it
    /// has one.
    async fn apply_under(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: &[Change],
        fence: Option<&Fence>,
    ) -> Result<Touched, StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, account).await?;
        if let Some(fence) = fence {
            super::leases::check_fence(&txn, account, fence).await?;
        }
        let now = Utc::now();
        let mut touched = Touched::default();
        let mut events = Recorder::default();
        for change in changes {
            apply_change(
                &txn,
                tenant,
                account,
                change,
                now,
                &mut touched,
                &mut events,
            )
            .await?;
        }
        let events = events.finish(&txn, tenant, account).await?;
        self.commit_with_events(txn, &events, CHAT).await?;
        Ok(touched)
    }
}

#[async_trait]
impl ChatStore for Store {
    async fn apply(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: &[Change],
    ) -> Result<Touched, StoreError> {
        self.apply_under(tenant, account, changes, None).await
    }

    async fn apply_fenced(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: &[Change],
        fence: &Fence,
    ) -> Result<Touched, StoreError> {
        self.apply_under(tenant, account, changes, Some(fence))
            .await
    }

    async fn store_dialogs(
        &self,
        tenant: &TenantId,
        account: AccountId,
        dialogs: &[Dialog],
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, account).await?;
        let now = Utc::now();
        let owner = accounts::Entity::find_by_id(account.to_string())
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .one(&txn)
            .await
            .store_err("account")?;
        if owner.is_none() {
            return Err(StoreError::NotFound {
                resource: "account",
            });
        }
        for dialog in dialogs {
            let (row, _) = upsert_profile(&txn, tenant, account, &dialog.profile, now).await?;
            if let Some(top) = &dialog.top_message {
                upsert_message(&txn, tenant, top, None, now).await?;
            }
            let state = &dialog.state;
            let mut active: chats::ActiveModel = row.clone().into();
            active.unread_count = Set(state.unread_count);
            active.read_inbox_max_id = Set(state.read_inbox_max_id.max(row.read_inbox_max_id));
            active.read_outbox_max_id = Set(state.read_outbox_max_id.max(row.read_outbox_max_id));
            active.pinned = Set(state.pinned);
            active.archived = Set(state.archived);
            active.muted_until = Set(state.muted_until);
            let (top_id, top_date) = match &dialog.top_message {
                Some(top) if top.message_id >= row.last_message_id.unwrap_or(0) => {
                    (Some(top.message_id), Some(top.sent_at))
                }
                _ => (row.last_message_id, row.top_message_date),
            };
            active.last_message_id = Set(top_id);
            active.top_message_date = Set(top_date);
            active.sort_key = Set(sort_key(state.pinned, top_date));
            if row.history_floor.is_none() {
                active.history_floor = Set(dialog.top_message.as_ref().map(|m| m.message_id));
                active.history_complete = Set(dialog.top_message.is_none());
            }
            active.updated_at = Set(now);
            chats::Entity::update(active)
                .exec(&txn)
                .await
                .store_err(CHAT)?;
        }
        accounts::Entity::update_many()
            .col_expr(accounts::Column::DialogsLoadedAt, Expr::value(now))
            .filter(accounts::Column::Id.eq(account.to_string()))
            .exec(&txn)
            .await
            .store_err("account")?;
        txn.commit().await.store_err(CHAT)
    }

    async fn dialogs_loaded(&self, account: AccountId) -> Result<bool, StoreError> {
        let row = accounts::Entity::find_by_id(account.to_string())
            .one(self.connection())
            .await
            .store_err("account")?
            .ok_or(StoreError::NotFound {
                resource: "account",
            })?;
        Ok(row.dialogs_loaded_at.is_some())
    }

    async fn store_history(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        messages: &[Message],
        profiles: &[ChatProfile],
        coverage: HistoryCoverage,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, account).await?;
        let now = Utc::now();
        let mut row = None;
        for profile in profiles {
            let (stored, _) = upsert_profile(&txn, tenant, account, profile, now).await?;
            if profile.chat_id == chat_id {
                row = Some(stored);
            }
        }
        let row = match row {
            Some(row) => row,
            None => ensure_chat(&txn, tenant, account, chat_id, now).await?,
        };
        upsert_page(&txn, tenant, account, chat_id, messages, now).await?;
        let mut active: chats::ActiveModel = row.clone().into();
        if let Some(newest) = messages.iter().max_by_key(|m| m.message_id) {
            raise_top(&mut active, &row, newest);
        }
        active.history_floor = Set(coverage.floor);
        active.history_complete = Set(coverage.complete);
        if coverage.total_count.is_some() {
            active.message_count = Set(coverage.total_count);
        }
        active.updated_at = Set(now);
        chats::Entity::update(active)
            .exec(&txn)
            .await
            .store_err(CHAT)?;
        // A migration the update stream never delivered (a gap Telegram
        // would not replay, filled from history) is followed here. The
        // caller retires the account's cached chats, so what this touched
        // needs no list of its own.
        let mut touched = Touched::default();
        let mut events = Recorder::default();
        for migration in messages.iter().filter_map(Message::migration) {
            follow_migration(
                &txn,
                tenant,
                account,
                migration,
                now,
                &mut touched,
                &mut events,
            )
            .await?;
        }
        let events = events.finish(&txn, tenant, account).await?;
        self.commit_with_events(txn, &events, CHAT).await
    }

    async fn store_full_profile(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        full: &FullProfile,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut update = chats::Entity::update_many()
            .col_expr(chats::Column::About, Expr::value(full.about.clone()))
            .col_expr(chats::Column::FullProfileAt, Expr::value(Some(at)))
            .col_expr(chats::Column::UpdatedAt, Expr::value(at))
            .filter(chats::Column::TenantId.eq(tenant.as_str()))
            .filter(chats::Column::AccountId.eq(account.to_string()))
            .filter(chats::Column::PeerId.eq(chat_id));
        if let Some(count) = full.member_count {
            update = update.col_expr(chats::Column::MemberCount, Expr::value(count));
        }
        let updated = update.exec(self.connection()).await.store_err(CHAT)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound { resource: CHAT });
        }
        Ok(())
    }

    async fn list_chats(
        &self,
        tenant: &TenantId,
        account: Option<AccountId>,
        filter: &ChatFilter,
        after: Option<ChatCursor>,
        limit: u32,
    ) -> Result<ChatPage, StoreError> {
        let mut query = chats::Entity::find().filter(chats::Column::TenantId.eq(tenant.as_str()));
        if let Some(account) = account {
            query = query.filter(chats::Column::AccountId.eq(account.to_string()));
        }
        if let Some(archived) = filter.archived {
            query = query.filter(chats::Column::Archived.eq(archived));
        }
        if !filter.kinds.is_empty() {
            query =
                query.filter(chats::Column::Kind.is_in(filter.kinds.iter().map(|k| k.as_str())));
        }
        if !filter.query.is_empty() {
            let escaped = filter
                .query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            let mut any = Condition::any();
            for column in [
                chats::Column::Title,
                chats::Column::Username,
                chats::Column::FirstName,
                chats::Column::LastName,
            ] {
                any = any.add(sea_orm::sea_query::ExprTrait::like(
                    Expr::expr(Func::lower(Expr::col(column))),
                    LikeExpr::new(pattern.clone()).escape('\\'),
                ));
            }
            query = query.filter(any);
        }
        if let Some(cursor) = after {
            let account = cursor.account_id.to_string();
            query = query.filter(
                Condition::any()
                    .add(chats::Column::SortKey.lt(cursor.sort_key))
                    .add(
                        Condition::all()
                            .add(chats::Column::SortKey.eq(cursor.sort_key))
                            .add(
                                Condition::any()
                                    .add(chats::Column::AccountId.lt(account.clone()))
                                    .add(
                                        Condition::all()
                                            .add(chats::Column::AccountId.eq(account))
                                            .add(chats::Column::PeerId.lt(cursor.chat_id)),
                                    ),
                            ),
                    ),
            );
        }
        let rows = query
            .order_by_desc(chats::Column::SortKey)
            .order_by_desc(chats::Column::AccountId)
            .order_by_desc(chats::Column::PeerId)
            .limit(u64::from(limit) + 1)
            .all(self.connection())
            .await
            .store_err(CHAT)?;
        let has_more = rows.len() > limit as usize;
        let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
        let next = if has_more {
            rows.last().map(|r| ChatCursor {
                sort_key: r.sort_key,
                account_id: r.account_id.parse().unwrap_or_default(),
                chat_id: r.peer_id,
            })
        } else {
            None
        };
        let chats = attach_last_messages(self.connection(), rows).await?;
        Ok(ChatPage { chats, next })
    }

    async fn get_chat(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
    ) -> Result<Chat, StoreError> {
        let row = chats::Entity::find_by_id((account.to_string(), chat_id))
            .filter(chats::Column::TenantId.eq(tenant.as_str()))
            .one(self.connection())
            .await
            .store_err(CHAT)?
            .ok_or(StoreError::NotFound { resource: CHAT })?;
        let mut chats = attach_last_messages(self.connection(), vec![row]).await?;
        Ok(chats.remove(0))
    }

    async fn coverage(
        &self,
        account: AccountId,
        chat_id: i64,
    ) -> Result<HistoryCoverage, StoreError> {
        let row = find_chat(self.connection(), account, chat_id)
            .await?
            .ok_or(StoreError::NotFound { resource: CHAT })?;
        Ok(HistoryCoverage {
            floor: row.history_floor,
            complete: row.history_complete,
            total_count: row.message_count,
        })
    }

    async fn messages(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        anchor: Option<i64>,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let mut query = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant.as_str()))
            .filter(messages::Column::AccountId.eq(account.to_string()))
            .filter(messages::Column::PeerId.eq(chat_id))
            .filter(messages::Column::State.eq(MessageState::Sent.as_str()));
        query = match (direction, anchor) {
            (HistoryDirection::Older, Some(anchor)) => query
                .filter(messages::Column::MessageId.lt(anchor))
                .order_by_desc(messages::Column::MessageId),
            (HistoryDirection::Older, None) => query.order_by_desc(messages::Column::MessageId),
            (HistoryDirection::Newer, anchor) => query
                .filter(messages::Column::MessageId.gt(anchor.unwrap_or(0)))
                .order_by_asc(messages::Column::MessageId),
        };
        query
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(MESSAGE)?
            .into_iter()
            .map(message_from_row)
            .collect()
    }

    async fn newest_before(
        &self,
        account: AccountId,
        chat_id: i64,
        time: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(messages::Entity::find()
            .filter(messages::Column::AccountId.eq(account.to_string()))
            .filter(messages::Column::PeerId.eq(chat_id))
            .filter(messages::Column::SentAt.lt(time))
            .order_by_desc(messages::Column::MessageId)
            .one(self.connection())
            .await
            .store_err(MESSAGE)?
            .map(|m| m.message_id))
    }

    async fn search_messages(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: Option<i64>,
        query: &SearchQuery,
        after: Option<SearchCursor>,
        limit: u32,
    ) -> Result<SearchPage, StoreError> {
        use messages::Column::{MessageId, PeerId, SentAt};
        // Each word matches the words it starts; the words are letters and
        // digits only (`search_words`), and travel as bound values.
        let matched = match self.connection().get_database_backend() {
            DbBackend::Postgres => {
                let tsquery: Vec<String> = query.words.iter().map(|w| format!("{w}:*")).collect();
                Expr::cust_with_values(
                    "messages.text_search @@ to_tsquery('simple', $1)",
                    [tsquery.join(" & ")],
                )
            }
            _ => {
                let fts: Vec<String> = query.words.iter().map(|w| format!("\"{w}\"*")).collect();
                Expr::cust_with_values(
                    "messages.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)",
                    [fts.join(" ")],
                )
            }
        };
        let mut found = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant.as_str()))
            .filter(messages::Column::AccountId.eq(account.to_string()))
            .filter(matched);
        if let Some(chat) = chat_id {
            found = found.filter(PeerId.eq(chat));
        }
        if let Some(from) = query.from {
            found = found.filter(SentAt.gte(from));
        }
        if let Some(to) = query.to {
            found = found.filter(SentAt.lt(to));
        }
        if let Some(after) = after {
            found = found.filter(
                Condition::any()
                    .add(SentAt.lt(after.sent_at))
                    .add(
                        Condition::all()
                            .add(SentAt.eq(after.sent_at))
                            .add(PeerId.lt(after.chat_id)),
                    )
                    .add(
                        Condition::all()
                            .add(SentAt.eq(after.sent_at))
                            .add(PeerId.eq(after.chat_id))
                            .add(MessageId.lt(after.message_id)),
                    ),
            );
        }
        let rows = found
            .order_by_desc(SentAt)
            .order_by_desc(PeerId)
            .order_by_desc(MessageId)
            .limit(u64::from(limit) + 1)
            .all(self.connection())
            .await
            .store_err(MESSAGE)?;
        let more = rows.len() > limit as usize;
        let messages = rows
            .into_iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = messages.last().filter(|_| more).map(SearchCursor::of);
        Ok(SearchPage { messages, next })
    }

    async fn get_message(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Message, StoreError> {
        messages::Entity::find_by_id((account.to_string(), chat_id, message_id))
            .filter(messages::Column::TenantId.eq(tenant.as_str()))
            .one(self.connection())
            .await
            .store_err(MESSAGE)?
            .ok_or(StoreError::NotFound { resource: MESSAGE })
            .and_then(message_from_row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_chats_sort_above_any_activity() {
        let now = Utc::now();
        let later = now + chrono::Duration::days(365 * 100);
        assert!(sort_key(true, None) > sort_key(false, Some(later)));
        assert!(sort_key(true, Some(now)) > sort_key(true, None));
        assert!(sort_key(false, Some(later)) > sort_key(false, Some(now)));
    }
}
