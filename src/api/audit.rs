//! AuditService: the audit log, newest first (ListAuditEntries).

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::audit_service_server::AuditService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::convert::timestamp;
use super::message::time_of;
use super::page::{self, Limits};
use super::{Violations, caller};
use crate::domain::PrincipalKind;
use crate::domain::audit::{AuditAction, AuditEntry, AuditFilter};
use crate::service::Audit;

const LIST_AUDIT_ENTRIES: &str = "ListAuditEntries";
const LIST_LIMITS: Limits = Limits {
    default: 100,
    max: 500,
};
/// MAX_PRINCIPAL bounds the `principal` filter, in characters.
const MAX_PRINCIPAL: usize = 256;

pub struct AuditApi {
    audit: Audit,
}

impl AuditApi {
    pub fn new(audit: Audit) -> Self {
        Self { audit }
    }
}

pub(super) fn action(value: i32) -> Option<AuditAction> {
    use pb::AuditAction as A;
    Some(match A::try_from(value).ok()? {
        A::Unspecified => return None,
        A::MessageSent => AuditAction::MessageSent,
        A::MessageEdited => AuditAction::MessageEdited,
        A::MessagesDeleted => AuditAction::MessagesDeleted,
        A::MessagesForwarded => AuditAction::MessagesForwarded,
        A::ChatRead => AuditAction::ChatRead,
        A::ChatLinked => AuditAction::ChatLinked,
        A::ChatUnlinked => AuditAction::ChatUnlinked,
        A::TriggerCreated => AuditAction::TriggerCreated,
        A::TriggerUpdated => AuditAction::TriggerUpdated,
        A::TriggerDeleted => AuditAction::TriggerDeleted,
        A::WebhookRedelivered => AuditAction::WebhookRedelivered,
        A::LoginStarted => AuditAction::LoginStarted,
        A::LoggedIn => AuditAction::LoggedIn,
        A::LoggedOut => AuditAction::LoggedOut,
        A::AccountDeleted => AuditAction::AccountDeleted,
        A::AuthorizationTerminated => AuditAction::AuthorizationTerminated,
    })
}

fn action_to_pb(action: AuditAction) -> pb::AuditAction {
    use pb::AuditAction as A;
    match action {
        AuditAction::MessageSent => A::MessageSent,
        AuditAction::MessageEdited => A::MessageEdited,
        AuditAction::MessagesDeleted => A::MessagesDeleted,
        AuditAction::MessagesForwarded => A::MessagesForwarded,
        AuditAction::ChatRead => A::ChatRead,
        AuditAction::ChatLinked => A::ChatLinked,
        AuditAction::ChatUnlinked => A::ChatUnlinked,
        AuditAction::TriggerCreated => A::TriggerCreated,
        AuditAction::TriggerUpdated => A::TriggerUpdated,
        AuditAction::TriggerDeleted => A::TriggerDeleted,
        AuditAction::WebhookRedelivered => A::WebhookRedelivered,
        AuditAction::LoginStarted => A::LoginStarted,
        AuditAction::LoggedIn => A::LoggedIn,
        AuditAction::LoggedOut => A::LoggedOut,
        AuditAction::AccountDeleted => A::AccountDeleted,
        AuditAction::AuthorizationTerminated => A::AuthorizationTerminated,
    }
}

fn entry_to_pb(entry: AuditEntry) -> pb::AuditEntry {
    let AuditEntry { id, entry, at } = entry;
    pb::AuditEntry {
        entry_id: id,
        time: Some(timestamp(at)),
        principal: entry.principal,
        principal_kind: match entry.principal_kind {
            PrincipalKind::User => pb::PrincipalKind::User,
            PrincipalKind::ApiKey => pb::PrincipalKind::ApiKey,
        } as i32,
        action: action_to_pb(entry.action) as i32,
        account_id: entry.account.map(|a| a.to_string()).unwrap_or_default(),
        chat_id: entry.chat_id.unwrap_or_default(),
        details: entry.details.into_iter().collect(),
    }
}

/// decode_cursor reads a page token: the id of the previous page's last
/// entry, bound to its filter.
fn decode_cursor(token: &str, binding: &str) -> Result<Option<i64>, crate::domain::Error> {
    let Some(cursor) = page::decode_token(LIST_AUDIT_ENTRIES, token)? else {
        return Ok(None);
    };
    let foreign = || crate::domain::Error::invalid("page_token", "not issued for this filter");
    let (id, bound) = cursor.split_once(':').ok_or_else(foreign)?;
    if bound != binding {
        return Err(foreign());
    }
    id.parse().map(Some).map_err(|_| foreign())
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListAuditEntriesRequest {
            page_size,
            page_token,
            account_id: account,
            principal,
            actions,
            from_time,
            to_time,
        } = request.get_ref();
        let mut violations = Violations::default();
        let limit = violations.check(page::page_size(*page_size, LIST_LIMITS));
        let mut filter = AuditFilter::default();
        if !account.is_empty() {
            filter.account = violations.check(account_id("account_id", account));
        }
        if principal.chars().count() > MAX_PRINCIPAL {
            violations.add("principal", format!("at most {MAX_PRINCIPAL} characters"));
        } else if !principal.is_empty() {
            filter.principal = Some(principal.clone());
        }
        for (i, value) in actions.iter().enumerate() {
            match action(*value) {
                Some(action) if !filter.actions.contains(&action) => filter.actions.push(action),
                Some(_) => {}
                None => violations.add(
                    &format!("actions[{i}]"),
                    "must be a known action, not UNSPECIFIED",
                ),
            }
        }
        filter.from = from_time
            .as_ref()
            .and_then(|t| time_of("from_time", t, &mut violations));
        filter.to = to_time
            .as_ref()
            .and_then(|t| time_of("to_time", t, &mut violations));
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to < from
        {
            violations.add("to_time", "must not be before from_time");
        }
        let binding = page::binding(&(
            filter.account.map(|a| a.to_string()),
            &filter.principal,
            filter
                .actions
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
            filter.from.map(|t| t.timestamp_micros()),
            filter.to.map(|t| t.timestamp_micros()),
        ));
        let before = violations.check(decode_cursor(page_token, &binding));
        violations.finish()?;
        let limit = limit.expect("validated");
        let entries = self
            .audit
            .entries(caller, &filter, before.flatten(), limit + 1)
            .await?;
        let more = entries.len() > limit as usize;
        let page: Vec<_> = entries.into_iter().take(limit as usize).collect();
        Ok(Response::new(pb::ListAuditEntriesResponse {
            next_page_token: match (more, page.last()) {
                (true, Some(last)) => {
                    page::encode_token(LIST_AUDIT_ENTRIES, &format!("{}:{binding}", last.id))
                }
                _ => String::new(),
            },
            entries: page.into_iter().map(entry_to_pb).collect(),
        }))
    }
}
