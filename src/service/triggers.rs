//! CRM triggers: their RPCs, the evaluator that fires them from the event
//! log, and the deliverer that POSTs webhook deliveries.
//!
//! Evaluation reads the log after the stored progress, matches every
//! enabled trigger of each event's tenant, and records the stretch of log
//! it read — the trigger_fired events and the deliveries — in one
//! transaction that moves the progress by compare-and-set (`TriggerStore::
//! record_firings`): a stretch is recorded once, by one process, so every
//! (trigger, event) pair fires exactly once across restarts and instances.
//!
//! Delivery claims an attempt (compare-and-set on `attempts`, with a lease
//! past the attempt's timeout, so a worker that dies mid-attempt is
//! replaced once its lease ends), POSTs, and records the outcome under the
//! same compare-and-set. Retries back off exponentially with jitter until
//! the delivery's give-up time. An attempt cut short by a crash after the
//! receiver answered is sent again, with the same `webhook-id`: receivers
//! deduplicate by it (at-least-once is what HTTP allows).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore, watch};
use zeroize::Zeroizing;

use super::{Audit, require};
use crate::crypto::Sealer;
use crate::domain::audit::{AuditAction, NewAuditEntry};
use crate::domain::event::{Event, EventKind};
use crate::domain::ports::{EventLog, StoreError, TriggerStore};
use crate::domain::trigger::{
    Action, ChatFacts, Conditions, Delivery, Firing, Matcher, Outcome, SealedSecret, Trigger,
    Webhook, WebhookSecret, backoff,
};
use crate::domain::{Caller, Error, Scope, TenantId};
use crate::webhooks::{Request, WebhookClient};

/// BATCH is how many events one evaluation reads.
const BATCH: u32 = 500;
/// LEASE_GRACE is how long past an attempt's timeout its claim holds.
const LEASE_GRACE: Duration = Duration::from_secs(30);
/// GONE is why a trigger whose webhook answered 410 is disabled.
const GONE: &str = "the webhook answered 410 Gone";

/// Render turns a trigger_fired event into the webhook body (the proto3
/// JSON of the wire Event; `api/` knows the wire).
pub type Render = Arc<dyn Fn(&Event) -> String + Send + Sync>;

#[derive(Debug, Clone)]
pub struct TriggerOptions {
    pub secret_overlap: Duration,
    pub give_up_after: Duration,
    pub first_retry: Duration,
    pub max_retry: Duration,
    pub timeout: Duration,
    pub retention: Duration,
    pub concurrency: usize,
    pub poll: Duration,
}

/// ActionSpec is a trigger's action as a caller writes it.
#[derive(Debug, Clone)]
pub enum ActionSpec {
    Stream,
    /// `secret: None` asks the gateway for one (returned once).
    Webhook {
        url: String,
        secret: Option<WebhookSecret>,
    },
}

/// TriggerSpec is a trigger as a caller writes it.
#[derive(Debug, Clone)]
pub struct TriggerSpec {
    pub name: String,
    pub kinds: Vec<EventKind>,
    pub conditions: Conditions,
    pub action: ActionSpec,
    pub enabled: bool,
}

/// Change is what UpdateTrigger's mask asks for.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub name: Option<String>,
    pub kinds: Option<Vec<EventKind>>,
    pub conditions: Option<Conditions>,
    pub enabled: Option<bool>,
    /// Switch to (or replace) the webhook; `secret: None` keeps the
    /// current secret when there is one, else asks for a new one.
    pub webhook: Option<(String, Option<WebhookSecret>)>,
    pub url: Option<String>,
    /// Rotate: `Some(None)` asks the gateway for the new secret.
    pub secret: Option<Option<WebhookSecret>>,
    pub stream: bool,
}

impl Change {
    /// paths are the fields the change names, as UpdateTrigger's mask does.
    fn paths(&self) -> Vec<&'static str> {
        let Change {
            name,
            kinds,
            conditions,
            enabled,
            webhook,
            url,
            secret,
            stream,
        } = self;
        [
            (name.is_some(), "name"),
            (kinds.is_some(), "event_kinds"),
            (conditions.is_some(), "conditions"),
            (enabled.is_some(), "enabled"),
            (webhook.is_some(), "webhook"),
            (url.is_some(), "webhook.url"),
            (secret.is_some(), "webhook.secret"),
            (*stream, "stream"),
        ]
        .into_iter()
        .filter_map(|(named, path)| named.then_some(path))
        .collect()
    }
}

#[derive(Clone)]
pub struct Triggers {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn TriggerStore>,
    log: Arc<dyn EventLog>,
    sealer: Sealer,
    client: WebhookClient,
    render: Render,
    options: TriggerOptions,
    audit: Audit,
    /// Rung when firings stored deliveries, so they go out at once.
    due: Notify,
}

fn aad(trigger_id: &str) -> Vec<u8> {
    format!("trigger:{trigger_id}").into_bytes()
}

fn not_found() -> Error {
    Error::NotFound {
        resource: "trigger",
    }
}

impl Triggers {
    pub fn new(
        store: Arc<dyn TriggerStore>,
        log: Arc<dyn EventLog>,
        sealer: Sealer,
        client: WebhookClient,
        render: Render,
        options: TriggerOptions,
        audit: Audit,
    ) -> Triggers {
        Triggers {
            inner: Arc::new(Inner {
                store,
                log,
                sealer,
                client,
                render,
                options,
                audit,
                due: Notify::new(),
            }),
        }
    }

    fn seal(&self, trigger_id: &str, secret: &WebhookSecret) -> SealedSecret {
        SealedSecret {
            sealed: self.inner.sealer.seal(secret.bytes(), &aad(trigger_id)),
            key_id: self.inner.sealer.active_key_id().to_owned(),
        }
    }

    fn open(&self, trigger_id: &str, sealed: &SealedSecret) -> Result<WebhookSecret, Error> {
        let bytes = self
            .inner
            .sealer
            .open(&sealed.sealed, &aad(trigger_id))
            .map_err(|err| Error::Internal(format!("a webhook secret cannot be opened: {err}")))?;
        WebhookSecret::from_bytes(bytes.to_vec())
            .ok_or_else(|| Error::Internal("a stored webhook secret is malformed".into()))
    }

    fn check_url(&self, url: &str, field: &'static str) -> Result<(), Error> {
        self.inner
            .client
            .policy()
            .check_url(url)
            .map(|_| ())
            .map_err(|why| Error::invalid(field, why))
    }

    /// webhook builds a webhook action, generating its secret when none is
    /// given (returned once).
    fn webhook(
        &self,
        trigger_id: &str,
        url: String,
        secret: Option<WebhookSecret>,
    ) -> (Webhook, Option<Zeroizing<String>>) {
        let (secret, generated) = match secret {
            Some(secret) => (secret, None),
            None => {
                let secret = WebhookSecret::generate();
                let shown = secret.expose();
                (secret, Some(shown))
            }
        };
        (
            Webhook {
                url,
                secret: self.seal(trigger_id, &secret),
                previous: None,
            },
            generated,
        )
    }

    /// create_trigger creates a trigger, idempotent on `request_id`; the
    /// secret the gateway generated, if it did, comes back this once.
    pub async fn create_trigger(
        &self,
        caller: &Caller,
        spec: TriggerSpec,
        request_id: &str,
    ) -> Result<(Trigger, Option<Zeroizing<String>>), Error> {
        require(caller, Scope::CrmWrite)?;
        if let ActionSpec::Webhook { url, .. } = &spec.action {
            self.check_url(url, "trigger.webhook.url")?;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now().trunc_subsecs_micros();
        let (action, generated) = match spec.action.clone() {
            ActionSpec::Stream => (Action::Stream, None),
            ActionSpec::Webhook { url, secret } => {
                let (webhook, generated) = self.webhook(&id, url, secret);
                (Action::Webhook(webhook), generated)
            }
        };
        let trigger = Trigger {
            id: id.clone(),
            tenant: caller.tenant.clone(),
            name: spec.name.clone(),
            kinds: spec.kinds.clone(),
            conditions: spec.conditions.clone(),
            action,
            enabled: spec.enabled,
            disabled_reason: None,
            request_id: Some(request_id.to_owned()),
            after_position: 0,
            created_at: now,
            updated_at: now,
        };
        let stored = match self.inner.store.create_trigger(&trigger).await {
            Ok(stored) => stored,
            Err(StoreError::Conflict { .. }) => {
                return Err(Error::FailedPrecondition {
                    reason: "TRIGGER_LIMIT",
                    message: format!(
                        "a tenant may have {} triggers; delete one first",
                        crate::domain::trigger::MAX_TRIGGERS
                    ),
                });
            }
            Err(err) => return Err(err.into()),
        };
        if stored.id != id {
            if !same_spec(&stored, &spec) {
                return Err(Error::InvalidInput {
                    reason: "REQUEST_ID_REUSED",
                    field: "request_id",
                    description: "this request_id was used for a different trigger".into(),
                });
            }
            return Ok((stored, None));
        }
        self.inner
            .audit
            .record(
                NewAuditEntry::by(caller, AuditAction::TriggerCreated)
                    .detail("trigger_id", &stored.id)
                    .detail("name", &stored.name),
            )
            .await;
        Ok((stored, generated))
    }

    pub async fn get_trigger(&self, caller: &Caller, id: &str) -> Result<Trigger, Error> {
        require(caller, Scope::CrmRead)?;
        self.inner
            .store
            .trigger(&caller.tenant, id)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn list_triggers(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Trigger>, Error> {
        require(caller, Scope::CrmRead)?;
        Ok(self
            .inner
            .store
            .triggers(&caller.tenant, after, limit)
            .await?)
    }

    /// update_trigger applies `change` to a trigger as it is now; a racing
    /// update makes this one fail with ABORTED (CONFLICT).
    pub async fn update_trigger(
        &self,
        caller: &Caller,
        id: &str,
        change: Change,
    ) -> Result<(Trigger, Option<Zeroizing<String>>), Error> {
        require(caller, Scope::CrmWrite)?;
        let paths = change.paths();
        let current = self
            .inner
            .store
            .trigger(&caller.tenant, id)
            .await?
            .ok_or_else(not_found)?;
        let mut next = current.clone();
        let mut generated = None;
        if let Some(name) = change.name {
            next.name = name;
        }
        if let Some(kinds) = change.kinds {
            next.kinds = kinds;
        }
        if let Some(conditions) = change.conditions {
            next.conditions = conditions;
        }
        if let Some(enabled) = change.enabled {
            next.enabled = enabled;
            if enabled {
                next.disabled_reason = None;
            }
        }
        if change.stream {
            next.action = Action::Stream;
        }
        if let Some((url, secret)) = change.webhook {
            self.check_url(&url, "trigger.webhook.url")?;
            match (&current.action, secret) {
                // The same webhook's secret is kept when none is given.
                (Action::Webhook(webhook), None) => {
                    next.action = Action::Webhook(Webhook {
                        url,
                        ..webhook.clone()
                    })
                }
                (_, secret) => {
                    let (webhook, shown) = self.webhook(id, url, secret);
                    next.action = Action::Webhook(webhook);
                    generated = shown;
                }
            }
        }
        if let Some(url) = change.url {
            self.check_url(&url, "trigger.webhook.url")?;
            let Action::Webhook(webhook) = &mut next.action else {
                return Err(Error::invalid(
                    "update_mask",
                    "\"webhook.url\" needs a webhook trigger; use \"webhook\" to switch",
                ));
            };
            webhook.url = url;
        }
        if let Some(secret) = change.secret {
            let Action::Webhook(webhook) = &mut next.action else {
                return Err(Error::invalid(
                    "update_mask",
                    "\"webhook.secret\" needs a webhook trigger; use \"webhook\" to switch",
                ));
            };
            let (secret, shown) = match secret {
                Some(secret) => (secret, None),
                None => {
                    let secret = WebhookSecret::generate();
                    let shown = secret.expose();
                    (secret, Some(shown))
                }
            };
            let overlap = chrono::Duration::from_std(self.inner.options.secret_overlap)
                .unwrap_or(chrono::Duration::days(1));
            // The replaced secret signs too until the overlap ends.
            webhook.previous = Some((webhook.secret.clone(), Utc::now() + overlap));
            webhook.secret = self.seal(id, &secret);
            generated = shown;
        }
        next.updated_at = Utc::now().trunc_subsecs_micros();
        self.inner
            .store
            .update_trigger(&next, current.updated_at)
            .await?;
        self.inner
            .audit
            .record(
                NewAuditEntry::by(caller, AuditAction::TriggerUpdated)
                    .detail("trigger_id", id)
                    .detail("update_mask", paths.join(",")),
            )
            .await;
        Ok((next, generated))
    }

    pub async fn delete_trigger(&self, caller: &Caller, id: &str) -> Result<(), Error> {
        require(caller, Scope::CrmWrite)?;
        self.inner.store.delete_trigger(&caller.tenant, id).await?;
        self.inner
            .audit
            .record(NewAuditEntry::by(caller, AuditAction::TriggerDeleted).detail("trigger_id", id))
            .await;
        Ok(())
    }

    pub async fn list_deliveries(
        &self,
        caller: &Caller,
        trigger_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, Error> {
        require(caller, Scope::CrmRead)?;
        self.get_trigger(caller, trigger_id).await?;
        Ok(self
            .inner
            .store
            .deliveries(&caller.tenant, trigger_id, after, limit)
            .await?)
    }

    /// redeliver makes a delivery due now, retried for another give-up
    /// period.
    pub async fn redeliver(
        &self,
        caller: &Caller,
        trigger_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery, Error> {
        require(caller, Scope::CrmWrite)?;
        let trigger = self.get_trigger(caller, trigger_id).await?;
        if !matches!(trigger.action, Action::Webhook(_)) {
            return Err(Error::FailedPrecondition {
                reason: "NOT_A_WEBHOOK",
                message: "the trigger no longer has a webhook".into(),
            });
        }
        let give_up_at = Utc::now()
            + chrono::Duration::from_std(self.inner.options.give_up_after)
                .unwrap_or(chrono::Duration::days(1));
        let delivery = self
            .inner
            .store
            .redeliver(&caller.tenant, trigger_id, delivery_id, give_up_at)
            .await
            .map_err(|err| match err {
                StoreError::NotFound { .. } => Error::NotFound {
                    resource: "delivery",
                },
                other => other.into(),
            })?;
        self.inner.due.notify_one();
        self.inner
            .audit
            .record(
                NewAuditEntry::by(caller, AuditAction::WebhookRedelivered)
                    .detail("trigger_id", trigger_id)
                    .detail("delivery_id", delivery_id),
            )
            .await;
        Ok(delivery)
    }

    /// evaluate records the next stretch of the log: what fired in it.
    /// `true` when more may follow at once.
    pub async fn evaluate(&self) -> Result<bool, Error> {
        let store = &self.inner.store;
        let from = store.trigger_progress().await?;
        let events = store.events_after_all(from, BATCH).await?;
        let Some(to) = events.last().map(|e| e.position) else {
            return Ok(false);
        };
        let mut tenants: Vec<TenantId> = Vec::new();
        for event in &events {
            if event.payload.kind() != EventKind::TriggerFired && !tenants.contains(&event.tenant) {
                tenants.push(event.tenant.clone());
            }
        }
        let triggers = store.enabled_triggers(&tenants).await?;
        let mut by_tenant: HashMap<&TenantId, Vec<Matcher<'_>>> = HashMap::new();
        for trigger in &triggers {
            by_tenant
                .entry(&trigger.tenant)
                .or_default()
                .push(Matcher::new(trigger));
        }
        let mut firings = Vec::new();
        for event in &events {
            let Some(matchers) = by_tenant.get(&event.tenant) else {
                continue;
            };
            let mut facts: Option<ChatFacts> = None;
            for matcher in matchers {
                if !matcher.prefilter(event) {
                    continue;
                }
                if matcher.trigger.conditions.needs_facts() {
                    if facts.is_none() {
                        facts = Some(self.facts(event).await?);
                    }
                    if !facts.as_ref().is_some_and(|f| matcher.matches(f)) {
                        continue;
                    }
                }
                let trigger = matcher.trigger;
                firings.push(Firing {
                    trigger_id: trigger.id.clone(),
                    trigger_name: trigger.name.clone(),
                    tenant: trigger.tenant.clone(),
                    event: event.clone(),
                    delivery: match &trigger.action {
                        Action::Webhook(webhook) => {
                            Some((uuid::Uuid::now_v7().to_string(), webhook.url.clone()))
                        }
                        Action::Stream => None,
                    },
                });
            }
        }
        let deliveries = firings.iter().any(|f| f.delivery.is_some());
        match store
            .record_firings(from, to, &firings, self.inner.options.give_up_after)
            .await
        {
            Ok(()) => {}
            // Another process recorded this stretch first.
            Err(StoreError::Conflict { .. }) => return Ok(true),
            Err(err) => return Err(err.into()),
        }
        if !firings.is_empty() {
            tracing::debug!(fired = firings.len(), through = to, "triggers fired");
        }
        if deliveries {
            self.inner.due.notify_one();
        }
        Ok(events.len() == BATCH as usize)
    }

    async fn facts(&self, event: &Event) -> Result<ChatFacts, Error> {
        let (Some(account), Some(chat_id)) = (event.account, event.payload.chat_id()) else {
            return Ok(ChatFacts::default());
        };
        let message_id = match &event.payload {
            crate::domain::event::EventPayload::MessageCreated { message } => {
                Some(message.message_id)
            }
            _ => None,
        };
        Ok(self
            .inner
            .store
            .chat_facts(&event.tenant, account, chat_id, message_id)
            .await?)
    }

    /// run_evaluation evaluates the log whenever it grows (or every poll
    /// interval) until `stop`.
    pub async fn run_evaluation(self, mut stop: watch::Receiver<bool>) {
        let mut appended = self.inner.log.appended();
        loop {
            let more = match self.evaluate().await {
                Ok(more) => more,
                Err(err) => {
                    tracing::warn!(error = %err, "evaluating triggers failed");
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                _ = appended.recv() => {}
                _ = tokio::time::sleep(self.inner.options.poll) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// run_deliveries sends due deliveries until `stop`, a few at a time,
    /// and prunes old ones.
    pub async fn run_deliveries(self, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.inner.options.concurrency.max(1)));
        let mut pruned_at: Option<DateTime<Utc>> = None;
        loop {
            if pruned_at.is_none_or(|at| Utc::now() - at > chrono::Duration::hours(1)) {
                self.prune().await;
                pruned_at = Some(Utc::now());
            }
            if let Err(err) = self.dispatch(&slots).await {
                tracing::warn!(error = %err, "reading due webhook deliveries failed");
            }
            tokio::select! {
                _ = self.inner.due.notified() => {}
                _ = tokio::time::sleep(self.inner.options.poll) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }

    async fn prune(&self) {
        let before = super::ago(self.inner.options.retention);
        match self.inner.store.prune_deliveries(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old webhook deliveries pruned"),
            Err(err) => tracing::warn!(error = %err, "pruning webhook deliveries failed"),
        }
    }

    /// dispatch starts an attempt for each due delivery a slot is free for.
    async fn dispatch(&self, slots: &Arc<Semaphore>) -> Result<(), Error> {
        let free = slots.available_permits();
        if free == 0 {
            return Ok(());
        }
        let now = Utc::now();
        let due = self.inner.store.due_deliveries(now, free as u32).await?;
        for delivery in due {
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            let lease = self.inner.options.timeout + LEASE_GRACE;
            let lease_until =
                now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
            if !self
                .inner
                .store
                .claim_delivery(&delivery.id, delivery.attempts, lease_until)
                .await?
            {
                continue;
            }
            let this = self.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let id = delivery.id.clone();
                if let Err(err) = this.attempt(delivery).await {
                    tracing::warn!(delivery_id = %id, error = %err, "a webhook attempt failed to record");
                }
                // The next one may be due already.
                this.inner.due.notify_one();
            });
        }
        Ok(())
    }

    /// attempt makes the claimed attempt of `delivery` and records it.
    async fn attempt(&self, delivery: Delivery) -> Result<(), Error> {
        let claimed = delivery.attempts + 1;
        let store = &self.inner.store;
        let give_up = |error: String| crate::domain::trigger::Attempt {
            at: Utc::now(),
            status: 0,
            latency_ms: 0,
            error,
        };
        let Some(trigger) = store
            .trigger(&delivery.tenant, &delivery.trigger_id)
            .await?
        else {
            return Ok(());
        };
        let Action::Webhook(webhook) = &trigger.action else {
            let attempt = give_up("the trigger no longer has a webhook".into());
            store
                .finish_delivery(
                    &delivery.id,
                    claimed,
                    &attempt,
                    &Outcome::GiveUp { disable: false },
                    "",
                )
                .await?;
            return Ok(());
        };
        let body = if delivery.body.is_empty() {
            let found = self
                .inner
                .log
                .events_after(&delivery.tenant, delivery.event_position - 1, 1)
                .await?;
            match found.into_iter().next() {
                Some(event) if event.position == delivery.event_position => {
                    let body = (self.inner.render)(&event);
                    store.set_delivery_body(&delivery.id, &body).await?;
                    body
                }
                _ => {
                    let attempt = give_up("the event left the log before it was sent".into());
                    store
                        .finish_delivery(
                            &delivery.id,
                            claimed,
                            &attempt,
                            &Outcome::GiveUp { disable: false },
                            "",
                        )
                        .await?;
                    return Ok(());
                }
            }
        } else {
            delivery.body.clone()
        };
        let mut secrets = vec![self.open(&trigger.id, &webhook.secret)?];
        if let Some((previous, until)) = &webhook.previous
            && *until > Utc::now()
        {
            secrets.push(self.open(&trigger.id, previous)?);
        }
        let attempt = self
            .inner
            .client
            .post(Request {
                url: &webhook.url,
                id: &delivery.id,
                body: body.as_bytes(),
                secrets: &secrets,
            })
            .await;
        let outcome = if (200..300).contains(&attempt.status) {
            Outcome::Delivered
        } else if attempt.status == 410 {
            Outcome::GiveUp { disable: true }
        } else {
            let wait = backoff(
                claimed,
                self.inner.options.first_retry,
                self.inner.options.max_retry,
            );
            let next =
                Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
            if next > delivery.give_up_at {
                Outcome::GiveUp { disable: false }
            } else {
                Outcome::Retry(next)
            }
        };
        tracing::debug!(
            delivery_id = %delivery.id,
            status = attempt.status,
            latency_ms = attempt.latency_ms,
            ?outcome,
            "webhook attempt"
        );
        match store
            .finish_delivery(&delivery.id, claimed, &attempt, &outcome, GONE)
            .await
        {
            // A RedeliverWebhook or another worker moved it on meanwhile.
            Err(StoreError::Conflict { .. }) => Ok(()),
            other => Ok(other?),
        }
    }
}

/// same_spec tells whether a stored trigger is what `spec` asks for (a
/// retry of CreateTrigger with the same request id).
fn same_spec(stored: &Trigger, spec: &TriggerSpec) -> bool {
    let action = match (&stored.action, &spec.action) {
        (Action::Stream, ActionSpec::Stream) => true,
        (Action::Webhook(webhook), ActionSpec::Webhook { url, .. }) => &webhook.url == url,
        _ => false,
    };
    action
        && stored.name == spec.name
        && stored.kinds == spec.kinds
        && stored.conditions == spec.conditions
}

/// TruncMicros is time as PostgreSQL keeps it (microseconds), so a value
/// written and read back compares equal (update_trigger's compare-and-set).
trait TruncMicros {
    fn trunc_subsecs_micros(self) -> Self;
}

impl TruncMicros for DateTime<Utc> {
    fn trunc_subsecs_micros(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 6)
    }
}
