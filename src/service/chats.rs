//! Chats and message history: ListChats, GetChat, ListMessages, GetMessage,
//! the writes made on the live connection (EditMessage, DeleteMessages,
//! MarkRead, SetTyping), and ingest (the [`Ingest`] port the supervisors
//! store updates through).
//!
//! Reads are cache → database → Telegram. The database holds what ingest
//! stored (kept fresh by every account's update stream), what the first
//! dialogs load stored, and what history backfills stored. A chat's
//! *coverage* says which part of its history is stored without gaps: every
//! message with an id at or above its floor. A history page inside the
//! coverage is served from the database; one beyond it is fetched from
//! Telegram (`messages.getHistory`, 100 at a time), stored, and then served
//! from the database, so every page comes from one place.
//!
//! Who writes what: ingest writes an account's chats and messages in update
//! order (one supervisor per account); dialog loads are serialized per
//! account; backfills write only what Telegram answered (upserts) and move
//! the floor only downwards from where it was read. Cached copies live under
//! per-account (chat lists, chats) and per-chat (message pages) generations
//! that every write retires after it committed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;

use crate::domain::audit::{AuditAction, NewAuditEntry, id_list};
use crate::domain::chat::{
    Change, Chat, ChatCursor, ChatFilter, ChatKind, ChatPage, ChatProfile, Dialog, Entity,
    HistoryDirection, MAX_CAPTION, MAX_TEXT, Message, MessagePage, SearchCursor, SearchPage,
    SearchQuery, TextEdit, TypingAction, utf16_len,
};
use crate::domain::error::FieldViolation;
use crate::domain::lease::Fence;
use crate::domain::ports::{
    AccountStore, ChatStore, HistoryCoverage, Ingest, StoreError, TelegramChats,
};
use crate::domain::{Account, AccountId, AccountKind, Caller, Error, Scope, TenantId};

use super::accounts::cached_account;
use super::audit::Audit;
use super::cached::Generations;
use super::locks::KeyedLocks;
use super::require;

/// Cache lifetimes (DESIGN.md §3); writes retire copies sooner.
const CHATS_TTL: Duration = Duration::from_secs(300);
const MESSAGES_TTL: Duration = Duration::from_secs(180);

/// HISTORY_BATCH is how many messages one backfill asks Telegram for.
const HISTORY_BATCH: u32 = 100;

/// GAP_PAGES bounds the history pages a gap fill reads for one chat.
const GAP_PAGES: u32 = 10;

#[derive(Debug, Clone, Copy)]
pub struct ChatOptions {
    /// How many chats the first load of an account's chat list stores.
    pub dialogs_limit: u32,
    /// How many backfill calls one forward sync (`after_message_id`) may
    /// make before it answers UNAVAILABLE (retry: it goes on from there).
    pub max_backfill_calls: u32,
    /// How long a dialogs load waits for a concurrent one of the account.
    pub load_wait: Duration,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self {
            dialogs_limit: 1000,
            max_backfill_calls: 20,
            load_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
pub struct Chats {
    store: Arc<dyn ChatStore>,
    accounts: Arc<dyn AccountStore>,
    telegram: Arc<dyn TelegramChats>,
    generations: Generations,
    options: ChatOptions,
    /// Records the writes callers make through the account (and the
    /// services that hold `Chats`: the outbox, CRM links).
    audit: Audit,
    load_locks: Arc<KeyedLocks<AccountId>>,
    /// Held by the outbox from a send to its record (see [`Chats::sending`]).
    sends: Arc<KeyedLocks<AccountId>>,
}

/// SEND_GATE_WAIT bounds how long ingest waits for a send in flight to be
/// recorded (a send's Telegram call has its own, shorter deadline).
const SEND_GATE_WAIT: Duration = Duration::from_secs(120);

fn chats_generation(tenant: &TenantId, account: Option<AccountId>) -> String {
    match account {
        Some(account) => format!("chats-gen:{tenant}:{account}"),
        None => format!("chats-gen:{tenant}"),
    }
}

fn messages_generation(tenant: &TenantId, account: AccountId, chat_id: i64) -> String {
    format!("messages-gen:{tenant}:{account}:{chat_id}")
}

/// FULL_PROFILE_TTL is how long GetChat serves a chat's stored full
/// profile before reading it from Telegram again.
const FULL_PROFILE_TTL: chrono::Duration = chrono::Duration::hours(1);

/// digest names a cached page by its parameters.
fn digest(parts: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(parts).expect("cache key parts serialize");
    hex::encode(&Sha256::digest(&bytes)[..12])
}

/// Anchor is where a ListMessages call starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Newest,
    Before(i64),
    BeforeTime(chrono::DateTime<chrono::Utc>),
    After(i64),
}

/// HistoryQuery is one ListMessages page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HistoryQuery {
    pub direction: HistoryDirection,
    /// Older: ids below it (`None`: from the newest). Newer: ids above it.
    pub anchor: Option<i64>,
    pub limit: u32,
}

fn not_found(resource: &'static str) -> impl FnOnce(Error) -> Error {
    move |err| match err {
        Error::Store(StoreError::NotFound { .. }) => Error::NotFound { resource },
        other => other,
    }
}

impl Chats {
    pub fn new(
        store: Arc<dyn ChatStore>,
        accounts: Arc<dyn AccountStore>,
        telegram: Arc<dyn TelegramChats>,
        generations: Generations,
        options: ChatOptions,
        audit: Audit,
    ) -> Self {
        Self {
            store,
            accounts,
            telegram,
            generations,
            options,
            audit,
            load_locks: Arc::new(KeyedLocks::default()),
            sends: Arc::new(KeyedLocks::default()),
        }
    }

    /// account is the tenant's account, through the account cache.
    pub(crate) async fn account(&self, tenant: &TenantId, id: AccountId) -> Result<Account, Error> {
        cached_account(&self.generations, &*self.accounts, tenant, id).await
    }

    /// audit is the audit log the services holding `Chats` record to.
    pub(crate) fn audit(&self) -> &Audit {
        &self.audit
    }

    /// sending is held by the outbox from a send until its outcome is
    /// recorded. Telegram's answer to a send also reaches the update
    /// stream, without the send's request id; ingest waits for the record
    /// before storing an outgoing message it cannot place, so the message
    /// is stored (and announced, MessageCreated) once, with the request id.
    pub(crate) async fn sending(&self, account: AccountId) -> Option<OwnedMutexGuard<()>> {
        self.sends.lock(&account, SEND_GATE_WAIT).await
    }

    /// retire drops the cached copies a write to these chats made stale.
    pub(crate) async fn retire(&self, tenant: &TenantId, account: AccountId, chats: &[i64]) {
        self.generations
            .invalidate(&chats_generation(tenant, Some(account)), CHATS_TTL)
            .await;
        self.generations
            .invalidate(&chats_generation(tenant, None), CHATS_TTL)
            .await;
        for chat in chats {
            self.generations
                .invalidate(&messages_generation(tenant, account, *chat), MESSAGES_TTL)
                .await;
        }
    }

    /// ensure_dialogs loads the account's chat list from Telegram once (the
    /// first time it is listed, unless its supervisor did already).
    async fn ensure_dialogs(&self, account: &Account) -> Result<(), Error> {
        if self.store.dialogs_loaded(account.id).await? {
            return Ok(());
        }
        account.require_authorized()?;
        let _guard = self
            .load_locks
            .lock(&account.id, self.options.load_wait)
            .await
            .ok_or_else(|| Error::Unavailable("the account's chat list is loading".into()))?;
        if self.store.dialogs_loaded(account.id).await? {
            return Ok(());
        }
        let dialogs = self
            .telegram
            .dialogs(account.id, self.options.dialogs_limit)
            .await?;
        self.store
            .store_dialogs(&account.tenant, account.id, &dialogs)
            .await?;
        let touched: Vec<i64> = dialogs.iter().map(|d| d.profile.chat_id).collect();
        self.retire(&account.tenant, account.id, &touched).await;
        tracing::info!(account_id = %account.id, chats = dialogs.len(), "chat list loaded");
        Ok(())
    }

    /// list_chats lists one account's chats (loading its chat list from
    /// Telegram the first time), or the chats of all the tenant's accounts.
    pub async fn list_chats(
        &self,
        caller: &Caller,
        account: Option<AccountId>,
        filter: ChatFilter,
        after: Option<ChatCursor>,
        limit: u32,
    ) -> Result<ChatPage, Error> {
        require(caller, Scope::ChatsRead)?;
        let tenant = &caller.tenant;
        if let Some(id) = account {
            let account = self.account(&caller.tenant, id).await?;
            if account.kind == AccountKind::Bot {
                return Err(Error::FailedPrecondition {
                    reason: "BOTS_UNSUPPORTED",
                    message: "Telegram gives bots no chat list; bots see chats as they write"
                        .into(),
                });
            }
            self.ensure_dialogs(&account).await?;
        }
        let key = format!(
            "chats:{tenant}:{}",
            digest(&(account, &filter, after, limit))
        );
        self.generations
            .read_through(&chats_generation(tenant, account), &key, CHATS_TTL, async {
                Ok(self
                    .store
                    .list_chats(tenant, account, &filter, after, limit)
                    .await?)
            })
            .await
    }

    pub async fn get_chat(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
    ) -> Result<Chat, Error> {
        require(caller, Scope::ChatsRead)?;
        let tenant = &caller.tenant;
        let account = self.account(tenant, account).await?;
        let chat = self.known_chat(tenant, account.id, chat_id).await?;
        self.with_full_profile(&account, chat).await
    }

    /// with_full_profile is the chat with its full profile (bio or
    /// description, member count), read from Telegram at most once an hour
    /// and stored; when Telegram cannot answer, the stored one serves.
    pub(crate) async fn with_full_profile(
        &self,
        account: &Account,
        chat: Chat,
    ) -> Result<Chat, Error> {
        let now = chrono::Utc::now();
        let fresh = chat
            .full_profile_at
            .is_some_and(|at| now - at < FULL_PROFILE_TTL);
        if fresh || account.require_authorized().is_err() {
            return Ok(chat);
        }
        let (tenant, chat_id) = (&account.tenant, chat.profile.chat_id);
        match self.telegram.full_profile(account.id, &chat.profile).await {
            Ok(full) => {
                self.store
                    .store_full_profile(tenant, account.id, chat_id, &full, now)
                    .await?;
                self.retire(tenant, account.id, &[]).await;
                self.known_chat(tenant, account.id, chat_id).await
            }
            // Its owner reads it (the call is forwarded there).
            Err(err @ Error::OwnedElsewhere { .. }) => Err(err),
            Err(err) => {
                tracing::warn!(account_id = %account.id, chat_id, error = %err, "reading a chat's full profile failed; serving the stored one");
                Ok(chat)
            }
        }
    }

    /// known_chat is a chat the store knows for this account (cached).
    pub(crate) async fn known_chat(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
    ) -> Result<Chat, Error> {
        let key = format!("chat:{tenant}:{account}:{chat_id}");
        self.generations
            .read_through(
                &chats_generation(tenant, Some(account)),
                &key,
                CHATS_TTL,
                async {
                    self.store
                        .get_chat(tenant, account, chat_id)
                        .await
                        .map_err(Error::from)
                        .map_err(not_found("chat"))
                },
            )
            .await
    }

    /// list_messages is one page of a chat's history, backfilled from
    /// Telegram where the store has not seen that part yet.
    pub async fn list_messages(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        anchor: Anchor,
        limit: u32,
    ) -> Result<MessagePage, Error> {
        require(caller, Scope::MessagesRead)?;
        let tenant = &caller.tenant;
        let account = self.account(&caller.tenant, account).await?;
        let chat = self.known_chat(tenant, account.id, chat_id).await?;
        let query = match anchor {
            Anchor::Newest => HistoryQuery {
                direction: HistoryDirection::Older,
                anchor: None,
                limit,
            },
            Anchor::Before(id) => HistoryQuery {
                direction: HistoryDirection::Older,
                anchor: Some(id),
                limit,
            },
            Anchor::After(id) => HistoryQuery {
                direction: HistoryDirection::Newer,
                anchor: Some(id),
                limit,
            },
            Anchor::BeforeTime(time) => HistoryQuery {
                direction: HistoryDirection::Older,
                anchor: Some(self.anchor_before(&account, &chat, time).await?),
                limit,
            },
        };
        let key = format!(
            "messages:{tenant}:{}:{chat_id}:{}",
            account.id,
            digest(&query)
        );
        self.generations
            .read_through(
                &messages_generation(tenant, account.id, chat_id),
                &key,
                MESSAGES_TTL,
                self.history_page(&account, &chat, query),
            )
            .await
    }

    /// anchor_before turns "sent before `time`" into a message id anchor:
    /// the newest such message's id + 1, from the store when its coverage
    /// reaches back that far, else from Telegram.
    async fn anchor_before(
        &self,
        account: &Account,
        chat: &Chat,
        time: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, Error> {
        let chat_id = chat.profile.chat_id;
        let coverage = self.store.coverage(account.id, chat_id).await?;
        let stored = self.store.newest_before(account.id, chat_id, time).await?;
        let trusted = match (stored, coverage.floor) {
            (Some(id), Some(floor)) => id >= floor,
            (None, Some(_)) => coverage.complete,
            _ => false,
        };
        let newest = if trusted || account.kind == AccountKind::Bot {
            stored
        } else {
            account.require_authorized()?;
            self.telegram
                .newest_before(account.id, &chat.profile, time)
                .await?
        };
        // No message before the time: an anchor below every id.
        Ok(newest.map_or(1, |id| id + 1))
    }

    async fn history_page(
        &self,
        account: &Account,
        chat: &Chat,
        query: HistoryQuery,
    ) -> Result<MessagePage, Error> {
        let chat_id = chat.profile.chat_id;
        let coverage = self.store.coverage(account.id, chat_id).await?;
        let stored = self
            .store
            .messages(
                &account.tenant,
                account.id,
                chat_id,
                query.anchor,
                query.direction,
                query.limit,
            )
            .await?;
        let covered = match query.direction {
            HistoryDirection::Older => older_page_covered(&stored, query, coverage),
            HistoryDirection::Newer => coverage
                .floor
                .is_some_and(|floor| floor <= query.anchor.unwrap_or(0) + 1),
        };
        let (messages, coverage) = if covered || account.kind == AccountKind::Bot {
            // Telegram does not give bots history: they have what they saw.
            (stored, coverage)
        } else {
            account.require_authorized()?;
            let coverage = match query.direction {
                HistoryDirection::Older => {
                    self.backfill_older(account, chat, query, coverage).await?
                }
                HistoryDirection::Newer => {
                    self.backfill_newer(account, chat, query, coverage).await?
                }
            };
            let messages = self
                .store
                .messages(
                    &account.tenant,
                    account.id,
                    chat_id,
                    query.anchor,
                    query.direction,
                    query.limit,
                )
                .await?;
            (messages, coverage)
        };
        // A full page may have more behind it; forwards, an empty token
        // means "caught up" (call again later from the last id).
        let full = messages.len() == query.limit as usize;
        let next = messages.last().filter(|_| full).map(|m| m.message_id);
        Ok(MessagePage {
            messages,
            next,
            total_count: coverage.total_count.unwrap_or(0),
        })
    }

    /// backfill_older fetches the 100 messages below the page's anchor and
    /// stores them; the floor moves when they continue the stored suffix.
    async fn backfill_older(
        &self,
        account: &Account,
        chat: &Chat,
        query: HistoryQuery,
        coverage: HistoryCoverage,
    ) -> Result<HistoryCoverage, Error> {
        // Continue the stored suffix when the page starts inside it;
        // otherwise fetch right below the anchor (a jump into old history).
        let offset = match (coverage.floor, query.anchor) {
            (Some(floor), None) => floor,
            (Some(floor), Some(anchor)) if anchor >= floor => floor,
            (_, anchor) => anchor.unwrap_or(0),
        };
        let contiguous = coverage.floor == Some(offset) || coverage.floor.is_none() && offset == 0;
        let history = self
            .telegram
            .history(account.id, &chat.profile, offset, 0, HISTORY_BATCH)
            .await?;
        let reached_start = (history.messages.len() as u32) < HISTORY_BATCH;
        let lowest = history.messages.iter().map(|m| m.message_id).min();
        let next = if contiguous {
            HistoryCoverage {
                floor: lowest.or(coverage.floor).or(Some(1)),
                complete: reached_start,
                total_count: Some(history.count),
            }
        } else {
            HistoryCoverage {
                total_count: Some(history.count),
                ..coverage
            }
        };
        self.store_history(account, chat, &history.messages, &history.chats, next)
            .await?;
        Ok(next)
    }

    /// backfill_newer makes the stored suffix reach down to the anchor, so
    /// every message above it is stored (a forward sync).
    async fn backfill_newer(
        &self,
        account: &Account,
        chat: &Chat,
        query: HistoryQuery,
        mut coverage: HistoryCoverage,
    ) -> Result<HistoryCoverage, Error> {
        let anchor = query.anchor.unwrap_or(0);
        for _ in 0..self.options.max_backfill_calls {
            let offset = coverage.floor.unwrap_or(0);
            let history = self
                .telegram
                .history(account.id, &chat.profile, offset, anchor, HISTORY_BATCH)
                .await?;
            let reached_anchor = (history.messages.len() as u32) < HISTORY_BATCH;
            let lowest = history.messages.iter().map(|m| m.message_id).min();
            coverage = HistoryCoverage {
                floor: if reached_anchor {
                    Some(anchor + 1)
                } else {
                    lowest.or(coverage.floor)
                },
                complete: coverage.complete || reached_anchor && anchor == 0,
                total_count: Some(history.count),
            };
            self.store_history(account, chat, &history.messages, &history.chats, coverage)
                .await?;
            if reached_anchor {
                return Ok(coverage);
            }
        }
        Err(Error::Unavailable(format!(
            "the history above message {anchor} is long; it is being stored, call again to go on"
        )))
    }

    async fn store_history(
        &self,
        account: &Account,
        chat: &Chat,
        messages: &[Message],
        profiles: &[crate::domain::chat::ChatProfile],
        coverage: HistoryCoverage,
    ) -> Result<(), Error> {
        let chat_id = chat.profile.chat_id;
        self.store
            .store_history(
                &account.tenant,
                account.id,
                chat_id,
                messages,
                profiles,
                coverage,
            )
            .await?;
        let mut touched = vec![chat_id];
        touched.extend(profiles.iter().map(|p| p.chat_id).filter(|c| *c != chat_id));
        self.retire(&account.tenant, account.id, &touched).await;
        Ok(())
    }

    /// remember stores a chat found outside the chat list (ResolveChat), so
    /// the account can read and write it like any other.
    pub(crate) async fn remember(
        &self,
        account: &Account,
        profile: ChatProfile,
    ) -> Result<Chat, Error> {
        let chat_id = profile.chat_id;
        let touched = self
            .store
            .apply(&account.tenant, account.id, &[Change::Profile(profile)])
            .await?;
        self.retire(&account.tenant, account.id, &touched.chats)
            .await;
        self.known_chat(&account.tenant, account.id, chat_id).await
    }

    /// search_messages finds messages of the account, or of one chat,
    /// newest first. The first page also asks Telegram, for the history
    /// the store lacks, and stores its hits: every page is then read from
    /// the store, so pages neither repeat nor skip a hit.
    pub async fn search_messages(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: Option<i64>,
        query: SearchQuery,
        after: Option<SearchCursor>,
        limit: u32,
    ) -> Result<SearchPage, Error> {
        require(caller, Scope::MessagesRead)?;
        let tenant = &caller.tenant;
        let account = self.account(&caller.tenant, account).await?;
        let chat = match chat_id {
            Some(id) => Some(self.known_chat(tenant, account.id, id).await?),
            None if account.kind == AccountKind::Bot => {
                return Err(Error::FailedPrecondition {
                    reason: "BOTS_UNSUPPORTED",
                    message: "Telegram does not let bots search all their chats".into(),
                });
            }
            None => None,
        };
        // Telegram does not let bots search; they have what they saw.
        let ask_telegram = account.kind != AccountKind::Bot;
        if after.is_none() && ask_telegram {
            self.search_telegram(&account, chat.as_ref(), &query, None)
                .await?;
        }
        let page = self
            .store
            .search_messages(tenant, account.id, chat_id, &query, after, limit)
            .await?;
        // The stored hits of a chat may end where Telegram's last batch did:
        // on the last page, ask for the hits below it, once.
        if let Some(chat) = chat
            .as_ref()
            .filter(|_| ask_telegram && page.next.is_none())
        {
            let lowest = page
                .messages
                .last()
                .map(|m| m.message_id)
                .or(after.map(|a| a.message_id));
            if let Some(lowest) = lowest
                && self
                    .search_telegram(&account, Some(chat), &query, Some(lowest))
                    .await?
                    > 0
            {
                return Ok(self
                    .store
                    .search_messages(tenant, account.id, chat_id, &query, after, limit)
                    .await?);
            }
        }
        Ok(page)
    }

    /// search_telegram stores Telegram's hits for a search and says how
    /// many there were: in one chat, up to [`HISTORY_BATCH`] below its
    /// stored suffix (the rest is stored already) and below `below`; in the
    /// whole account, the newest [`HISTORY_BATCH`].
    async fn search_telegram(
        &self,
        account: &Account,
        chat: Option<&Chat>,
        query: &SearchQuery,
        below: Option<i64>,
    ) -> Result<usize, Error> {
        if let Some(chat) = chat {
            let coverage = self
                .store
                .coverage(account.id, chat.profile.chat_id)
                .await?;
            if coverage.complete {
                return Ok(0);
            }
            account.require_authorized()?;
            let max_id = match (coverage.floor, below) {
                (Some(floor), Some(below)) => floor.min(below),
                (floor, below) => floor.or(below).unwrap_or(0),
            };
            let found = self
                .telegram
                .search(
                    account.id,
                    Some(&chat.profile),
                    query,
                    max_id,
                    HISTORY_BATCH,
                )
                .await?;
            self.store_history(account, chat, &found.messages, &found.chats, coverage)
                .await?;
            return Ok(found.messages.len());
        }
        account.require_authorized()?;
        let found = self
            .telegram
            .search(account.id, None, query, 0, HISTORY_BATCH)
            .await?;
        let mut chats: Vec<i64> = found.messages.iter().map(|m| m.chat_id).collect();
        chats.sort_unstable();
        chats.dedup();
        for chat_id in &chats {
            let coverage = self.coverage_or_none(account.id, *chat_id).await?;
            let hits: Vec<Message> = found
                .messages
                .iter()
                .filter(|m| m.chat_id == *chat_id)
                .cloned()
                .collect();
            self.store
                .store_history(
                    &account.tenant,
                    account.id,
                    *chat_id,
                    &hits,
                    &found.chats,
                    coverage,
                )
                .await?;
        }
        self.retire(&account.tenant, account.id, &chats).await;
        Ok(found.messages.len())
    }

    /// coverage_or_none is a chat's stored coverage; none for a chat not
    /// stored yet (one that Telegram's answer is about to add).
    async fn coverage_or_none(
        &self,
        account: AccountId,
        chat_id: i64,
    ) -> Result<HistoryCoverage, Error> {
        match self.store.coverage(account, chat_id).await {
            Ok(coverage) => Ok(coverage),
            Err(StoreError::NotFound { .. }) => Ok(HistoryCoverage::default()),
            Err(err) => Err(err.into()),
        }
    }

    /// writable_chat is what every write to a chat checks first: the
    /// caller's `messages:write`, its authorized account, and a chat that
    /// account has.
    pub(crate) async fn writable_chat(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
    ) -> Result<(Account, Chat), Error> {
        require(caller, Scope::MessagesWrite)?;
        let account = self.account(&caller.tenant, account).await?;
        account.require_authorized()?;
        let chat = self.known_chat(&caller.tenant, account.id, chat_id).await?;
        Ok((account, chat))
    }

    /// mark_read marks the chat's incoming messages read up to `max_id`
    /// (0: up to the newest), on Telegram and here; returns what is still
    /// unread.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        max_id: i64,
    ) -> Result<i32, Error> {
        let (account, chat) = self.writable_chat(caller, account, chat_id).await?;
        let tenant = &caller.tenant;
        let top = chat.last_message.as_ref().map_or(0, |m| m.message_id);
        self.telegram
            .read_history(account.id, &chat.profile, max_id)
            .await?;
        let up_to = if max_id == 0 { top } else { max_id };
        self.audit
            .record(
                NewAuditEntry::by(caller, AuditAction::ChatRead)
                    .chat(account.id, chat_id)
                    .detail("max_message_id", up_to),
            )
            .await;
        let change = Change::ReadInbox {
            chat_id,
            max_id: up_to,
            // Read through the newest message: nothing is left; else the
            // stored messages above the mark are what is.
            still_unread: (up_to >= top).then_some(0),
        };
        let touched = self.store.apply(tenant, account.id, &[change]).await?;
        self.retire(tenant, account.id, &touched.chats).await;
        Ok(self
            .known_chat(tenant, account.id, chat_id)
            .await?
            .unread_count)
    }

    /// set_typing shows a chat action to the chat; nothing is stored.
    pub async fn set_typing(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        action: TypingAction,
    ) -> Result<(), Error> {
        let (account, chat) = self.writable_chat(caller, account, chat_id).await?;
        self.telegram
            .set_typing(account.id, &chat.profile, action)
            .await
    }

    /// edit_message changes the text or entities of a message the account
    /// sent; editing to the same content returns the message unchanged.
    pub async fn edit_message(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        message_id: i64,
        edit: TextEdit,
    ) -> Result<Message, Error> {
        let (account, chat) = self.writable_chat(caller, account, chat_id).await?;
        let tenant = &caller.tenant;
        let current = self
            .message(tenant, account.id, chat_id, message_id)
            .await?;
        let not_editable = |why: &str| Error::FailedPrecondition {
            reason: "MESSAGE_NOT_EDITABLE",
            message: why.to_owned(),
        };
        if current.action.is_some() {
            return Err(not_editable("a service message cannot be edited"));
        }
        if !current.outgoing && chat.profile.kind != ChatKind::Channel {
            return Err(not_editable(
                "only the account's own messages can be edited",
            ));
        }
        let (text, entities) = edited_content(&current, edit)?;
        if text == current.text && entities == current.entities {
            return Ok(current);
        }
        let Some(edited) = self
            .telegram
            .edit_message(account.id, &chat.profile, message_id, &text, &entities)
            .await?
        else {
            return Ok(current);
        };
        self.audit
            .record(
                NewAuditEntry::by(caller, AuditAction::MessageEdited)
                    .chat(account.id, chat_id)
                    .detail("message_id", message_id),
            )
            .await;
        let change = Change::Edited {
            message: edited.message,
            version: edited.version,
        };
        let touched = self.store.apply(tenant, account.id, &[change]).await?;
        self.retire(tenant, account.id, &touched.chats).await;
        self.message(tenant, account.id, chat_id, message_id).await
    }

    /// delete_messages deletes messages of the chat, on Telegram and here;
    /// ids that do not exist (any more) are ignored.
    pub async fn delete_messages(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        message_ids: &[i64],
        revoke: bool,
    ) -> Result<(), Error> {
        let (account, chat) = self.writable_chat(caller, account, chat_id).await?;
        let tenant = &caller.tenant;
        let deleted = self
            .telegram
            .delete_messages(account.id, &chat.profile, message_ids, revoke)
            .await?;
        if deleted.is_empty() {
            return Ok(());
        }
        self.audit
            .record(
                NewAuditEntry::by(caller, AuditAction::MessagesDeleted)
                    .chat(account.id, chat_id)
                    .detail("message_ids", id_list(&deleted))
                    .detail("revoke", revoke),
            )
            .await;
        let change = Change::Deleted {
            chat_id: Some(chat_id),
            message_ids: deleted,
        };
        let touched = self.store.apply(tenant, account.id, &[change]).await?;
        self.retire(tenant, account.id, &touched.chats).await;
        Ok(())
    }

    pub async fn get_message(
        &self,
        caller: &Caller,
        account: AccountId,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Message, Error> {
        require(caller, Scope::MessagesRead)?;
        self.message(&caller.tenant, account, chat_id, message_id)
            .await
    }

    /// message is one message of the tenant's account, with no scope check:
    /// for services that checked their own (SendMessage finds the message
    /// it replies to, and the one it sent, with `messages:write` alone).
    pub(crate) async fn message(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Message, Error> {
        let account = cached_account(&self.generations, &*self.accounts, tenant, account).await?;
        let chat = self.known_chat(tenant, account.id, chat_id).await?;
        let key = format!("message:{tenant}:{}:{chat_id}:{message_id}", account.id);
        self.generations
            .read_through(
                &messages_generation(tenant, account.id, chat_id),
                &key,
                MESSAGES_TTL,
                async {
                    match self
                        .store
                        .get_message(tenant, account.id, chat_id, message_id)
                        .await
                    {
                        Err(StoreError::NotFound { .. }) => {
                            self.fetch_message(&account, &chat, message_id).await
                        }
                        other => Ok(other?),
                    }
                },
            )
            .await
    }

    /// fetch_message asks Telegram for a message the store has not seen
    /// (below the stored history), storing it when it exists.
    async fn fetch_message(
        &self,
        account: &Account,
        chat: &Chat,
        message_id: i64,
    ) -> Result<Message, Error> {
        let gone = Error::NotFound {
            resource: "message",
        };
        let coverage = self
            .store
            .coverage(account.id, chat.profile.chat_id)
            .await?;
        let inside_coverage = coverage.floor.is_some_and(|floor| message_id >= floor);
        if inside_coverage
            || account.kind == AccountKind::Bot
            || account.require_authorized().is_err()
        {
            return Err(gone);
        }
        let history = self
            .telegram
            .history(account.id, &chat.profile, message_id + 1, message_id - 1, 1)
            .await?;
        let Some(found) = history
            .messages
            .iter()
            .find(|m| m.message_id == message_id)
            .cloned()
        else {
            return Err(gone);
        };
        self.store_history(account, chat, &history.messages, &history.chats, coverage)
            .await?;
        Ok(found)
    }
}

/// edited_content is a message's text and entities after an edit,
/// checked against Telegram's limits: a caption may be empty and is
/// shorter, and entities must fit the text they format.
fn edited_content(current: &Message, edit: TextEdit) -> Result<(String, Vec<Entity>), Error> {
    let caption = current.media.is_some();
    let (text, entities) = match edit {
        TextEdit {
            text: Some(text),
            entities,
        } => (text, entities.unwrap_or_default()),
        TextEdit {
            text: None,
            entities,
        } => (current.text.clone(), entities.unwrap_or_default()),
    };
    let mut violations = Vec::new();
    let length = utf16_len(&text);
    let max = if caption { MAX_CAPTION } else { MAX_TEXT };
    if text.trim().is_empty() && !caption {
        violations.push(FieldViolation::new("text", "required: the message text"));
    } else if length > max {
        let what = if caption { "a caption" } else { "a text" };
        violations.push(FieldViolation::new(
            "text",
            format!("{length} UTF-16 code units; Telegram allows {what} at most {max}"),
        ));
    }
    for (i, entity) in entities.iter().enumerate() {
        if !entity.within(length) {
            violations.push(FieldViolation::new(
                format!("entities[{i}]"),
                Entity::outside(length),
            ));
        }
    }
    if violations.is_empty() {
        Ok((text, entities))
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

/// older_page_covered says whether a page read from the store is the true
/// page: it is inside the stored suffix, or reaches the chat's first message.
fn older_page_covered(stored: &[Message], query: HistoryQuery, coverage: HistoryCoverage) -> bool {
    let Some(floor) = coverage.floor else {
        return false;
    };
    if query.anchor.is_some_and(|anchor| anchor <= floor) {
        // The page starts below the suffix: known whole only when nothing
        // lies below the floor (it is the chat's first message).
        return coverage.complete;
    }
    match stored.last() {
        Some(last) if stored.len() == query.limit as usize => last.message_id >= floor,
        // A short page is the true page only at the start of the history.
        _ => coverage.complete,
    }
}

#[async_trait]
impl Ingest for Chats {
    async fn ingest(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: Vec<Change>,
        fence: Option<&Fence>,
    ) -> Result<(), Error> {
        let unplaced = changes.iter().any(|change| {
            matches!(change, Change::NewMessage { message, .. }
                if message.outgoing && message.request_id.is_none())
        });
        // A send in flight is recorded first (see `sending`).
        let _recorded = match unplaced {
            true => self.sending(account).await,
            false => None,
        };
        let touched = match fence {
            Some(fence) => {
                self.store
                    .apply_fenced(tenant, account, &changes, fence)
                    .await?
            }
            None => self.store.apply(tenant, account, &changes).await?,
        };
        self.retire(tenant, account, &touched.chats).await;
        Ok(())
    }

    async fn fill_gap(&self, tenant: &TenantId, account: AccountId) -> Result<(), Error> {
        let account = self.accounts.get_account(tenant, account).await?;
        let dialogs = self
            .telegram
            .dialogs(account.id, self.options.dialogs_limit)
            .await?;
        let mut behind = Vec::new();
        for dialog in dialogs {
            let stored_top = match self
                .store
                .get_chat(tenant, account.id, dialog.profile.chat_id)
                .await
            {
                Ok(chat) => chat.last_message.map_or(0, |m| m.message_id),
                Err(StoreError::NotFound { .. }) => 0,
                Err(err) => return Err(err.into()),
            };
            if dialog.state.top_message_id > stored_top {
                behind.push((dialog, stored_top));
            }
        }
        let mut refilled = 0;
        for (dialog, stored_top) in &behind {
            refilled += self.fill_chat(&account, dialog, *stored_top).await?;
        }
        let dialogs: Vec<_> = behind.into_iter().map(|(dialog, _)| dialog).collect();
        self.store
            .store_dialogs(tenant, account.id, &dialogs)
            .await?;
        let touched: Vec<i64> = dialogs.iter().map(|d| d.profile.chat_id).collect();
        self.retire(tenant, account.id, &touched).await;
        tracing::info!(account_id = %account.id, chats = touched.len(), messages = refilled, "update gap filled from history");
        Ok(())
    }
}

impl Chats {
    /// fill_chat stores a chat's messages above `stored_top` (its newest
    /// stored message), newest first, at most [`GAP_PAGES`] pages; returns
    /// how many it read. When they do not reach down to `stored_top`, a
    /// hole remains: the chat's stored suffix then starts at the oldest
    /// message read, and the hole is backfilled when a page needs it.
    async fn fill_chat(
        &self,
        account: &Account,
        dialog: &Dialog,
        stored_top: i64,
    ) -> Result<usize, Error> {
        let chat_id = dialog.profile.chat_id;
        let mut fetched = Vec::new();
        let mut profiles = Vec::new();
        let mut offset = 0;
        let mut reached = false;
        for _ in 0..GAP_PAGES {
            let page = self
                .telegram
                .history(
                    account.id,
                    &dialog.profile,
                    offset,
                    stored_top,
                    HISTORY_BATCH,
                )
                .await?;
            let lowest = page.messages.iter().map(|m| m.message_id).min();
            let short = (page.messages.len() as u32) < HISTORY_BATCH;
            fetched.extend(page.messages);
            profiles.extend(page.chats);
            match lowest {
                Some(lowest) if !short => offset = lowest,
                _ => {
                    reached = true;
                    break;
                }
            }
        }
        let coverage = self.coverage_or_none(account.id, chat_id).await?;
        let lowest = fetched.iter().map(|m| m.message_id).min();
        let next = match (reached, stored_top) {
            // Read down to the stored newest: the stored suffix goes on.
            (true, top) if top > 0 => coverage,
            // Nothing was stored: this is the whole history.
            (true, _) => HistoryCoverage {
                floor: lowest.or(Some(1)),
                complete: true,
                ..coverage
            },
            (false, _) => HistoryCoverage {
                floor: lowest,
                complete: false,
                ..coverage
            },
        };
        self.store
            .store_history(
                &account.tenant,
                account.id,
                chat_id,
                &fetched,
                &profiles,
                next,
            )
            .await?;
        Ok(fetched.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(id: i64) -> Message {
        Message {
            account_id: AccountId::new(),
            chat_id: 1,
            message_id: id,
            sender_id: None,
            outgoing: false,
            text: String::new(),
            entities: Vec::new(),
            media: None,
            reply_to: None,
            forward: None,
            grouped_id: None,
            action: None,
            sent_at: Utc::now(),
            edited_at: None,
            views: None,
            state: crate::domain::chat::MessageState::Sent,
            request_id: None,
            error_reason: None,
        }
    }

    fn older(anchor: Option<i64>, limit: u32) -> HistoryQuery {
        HistoryQuery {
            direction: HistoryDirection::Older,
            anchor,
            limit,
        }
    }

    fn coverage(floor: Option<i64>, complete: bool) -> HistoryCoverage {
        HistoryCoverage {
            floor,
            complete,
            total_count: None,
        }
    }

    #[test]
    fn a_stored_page_is_trusted_only_inside_the_covered_suffix() {
        let page: Vec<_> = (8..=10).rev().map(message).collect();
        // All three are at or above the floor: the true page.
        assert!(older_page_covered(
            &page,
            older(None, 3),
            coverage(Some(8), false)
        ));
        // The last one is below the floor: a gap may hide between.
        assert!(!older_page_covered(
            &page,
            older(None, 3),
            coverage(Some(9), false)
        ));
        // A short page is whole only when the history is complete.
        assert!(!older_page_covered(
            &page,
            older(None, 5),
            coverage(Some(8), false)
        ));
        assert!(older_page_covered(
            &page,
            older(None, 5),
            coverage(Some(8), true)
        ));
        // Nothing is covered without a floor.
        assert!(!older_page_covered(
            &page,
            older(None, 3),
            coverage(None, false)
        ));
        // A page starting below the floor is trusted only below the first message.
        assert!(!older_page_covered(
            &[],
            older(Some(5), 3),
            coverage(Some(8), false)
        ));
        assert!(older_page_covered(
            &[],
            older(Some(5), 3),
            coverage(Some(8), true)
        ));
    }
}
