//! The gRPC surface: the only module that knows protobuf and tonic. It
//! authenticates, validates, converts to domain types, calls services, and
//! maps errors to `Status` exactly once (`error.rs`).

mod account;
mod audit;
mod chat;
pub mod convert;
pub mod crm;
pub mod error;
pub mod forward;
pub mod layers;
mod media;
mod message;
pub mod page;
mod preference;
#[cfg(feature = "sandbox")]
mod sandbox;
#[cfg(not(feature = "sandbox"))]
mod sandbox_unbuilt;
mod update;

use tezgram_sdk::v1::account_service_server::AccountServiceServer;
use tezgram_sdk::v1::audit_service_server::AuditServiceServer;
use tezgram_sdk::v1::chat_service_server::ChatServiceServer;
use tezgram_sdk::v1::crm_service_server::CrmServiceServer;
use tezgram_sdk::v1::media_service_server::MediaServiceServer;
use tezgram_sdk::v1::message_service_server::MessageServiceServer;
use tezgram_sdk::v1::preference_service_server::PreferenceServiceServer;
use tezgram_sdk::v1::sandbox_service_server::SandboxServiceServer;
use tezgram_sdk::v1::update_service_server::UpdateServiceServer;
use tonic::service::Routes;
use tonic::{Request, Status};

use crate::domain::{Caller, Error, FieldViolation};
use crate::links::Links;
#[cfg(feature = "sandbox")]
use crate::service::sandbox::SandboxAdmin;
use crate::service::{
    Accounts, Audit, Chats, Contacts, Crm, Files, Outbox, Triggers, Updates, UserPreferences,
};

/// API_PREFIX is the path prefix of tezgram's own RPCs; everything under it
/// requires credentials. Health and reflection do not.
pub const API_PREFIX: &str = "/tez.telegram.v1.";

/// caller is the authenticated caller the auth layer attached to the request.
fn caller<T>(request: &Request<T>) -> Result<&Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| Error::Unauthenticated("missing credentials").into())
}

/// Violations collects every bad field of a request, so one answer names
/// them all and nothing is written.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// check keeps a validated value, or the violations of a failed one.
    fn check<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Error::InvalidArgument(violations)) => {
                self.0.extend(violations);
                None
            }
            Err(other) => {
                self.0
                    .push(FieldViolation::new("request", other.to_string()));
                None
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

/// Services are the domain services the API serves.
pub struct Services {
    pub accounts: Accounts,
    pub chats: Chats,
    pub contacts: Contacts,
    pub crm: Crm,
    pub triggers: Triggers,
    pub outbox: Outbox,
    pub updates: Updates,
    pub files: Files,
    pub audit: Audit,
    pub preferences: UserPreferences,
    /// Signs download links, when they are served.
    pub links: Option<Links>,
    /// The sandbox's admin side; `None` when the gateway talks to real Telegram.
    #[cfg(feature = "sandbox")]
    pub sandbox: Option<SandboxAdmin>,
}

/// routes registers every v1 service.
pub fn routes(services: Services) -> Routes {
    let Services {
        accounts,
        chats,
        contacts,
        crm,
        triggers,
        outbox,
        updates,
        files,
        audit,
        preferences,
        links,
        #[cfg(feature = "sandbox")]
        sandbox,
    } = services;
    #[cfg(feature = "sandbox")]
    let sandbox = sandbox::SandboxApi::new(sandbox);
    #[cfg(not(feature = "sandbox"))]
    let sandbox = sandbox_unbuilt::SandboxApi;
    Routes::new(AccountServiceServer::new(account::AccountApi::new(
        accounts,
    )))
    .add_service(ChatServiceServer::new(chat::ChatApi::new(
        chats.clone(),
        contacts,
    )))
    .add_service(MessageServiceServer::new(message::MessageApi::new(
        chats, outbox,
    )))
    .add_service(MediaServiceServer::new(media::MediaApi::new(files, links)))
    .add_service(UpdateServiceServer::new(update::UpdateApi::new(updates)))
    .add_service(CrmServiceServer::new(crm::CrmApi::new(crm, triggers)))
    .add_service(AuditServiceServer::new(audit::AuditApi::new(audit)))
    .add_service(PreferenceServiceServer::new(
        preference::PreferenceApi::new(preferences),
    ))
    .add_service(SandboxServiceServer::new(sandbox))
}

/// SERVICE_NAMES are the fully-qualified names of the v1 services, for health.
pub const SERVICE_NAMES: &[&str] = &[
    "tez.telegram.v1.AccountService",
    "tez.telegram.v1.ChatService",
    "tez.telegram.v1.MessageService",
    "tez.telegram.v1.MediaService",
    "tez.telegram.v1.UpdateService",
    "tez.telegram.v1.CrmService",
    "tez.telegram.v1.AuditService",
    "tez.telegram.v1.PreferenceService",
    "tez.telegram.v1.SandboxService",
];
