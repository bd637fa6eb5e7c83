//! The sandbox DC's TL methods: each call's function is deserialized, run
//! against the [`Network`], and its answer serialized — the [`Dispatch`]
//! the MTProto server calls. Methods are grouped by TL namespace, one module
//! each; an unknown method answers 400 `INPUT_METHOD_INVALID_<id>`.

mod account;
mod auth;
mod contacts;
pub mod convert;
mod help;

#[cfg(test)]
pub(crate) use help::config;
mod messages;
mod updates;
mod upload;
mod users;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use grammers_tl_types as tl;
use grammers_tl_types::{Deserializable, Serializable};
use tracing::warn;

use super::mtproto::{CallContext, Dispatch, MtprotoServerHandle, RpcError, request_constructor};
use super::network::{self, Delivery, Fault, Network};

/// SandboxRpc answers TL calls from the simulated network.
pub struct SandboxRpc {
    network: Network,
    /// The server, to push updates and drop connections; set once it is bound.
    server: OnceLock<MtprotoServerHandle>,
}

impl SandboxRpc {
    pub fn new(network: Network) -> Arc<Self> {
        Arc::new(Self {
            network,
            server: OnceLock::new(),
        })
    }

    /// attach gives the dispatcher the server it answers for.
    pub fn attach(&self, server: MtprotoServerHandle) {
        let _ = self.server.set(server);
    }

    #[allow(
        dead_code,
        reason = "the dispatcher's network, for callers beside the TL methods"
    )]
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// deliver pushes updates to every live session of their users, except
    /// the session that caused them (it gets them in its answer).
    pub fn deliver(&self, deliveries: Vec<Delivery>, except_auth_key: Option<i64>) {
        let Some(server) = self.server.get() else {
            return;
        };
        for delivery in deliveries {
            let updates = convert::updates::pushed(&self.network, &delivery);
            let Some(updates) = updates else { continue };
            let bytes = updates.to_bytes();
            for key in self.network.authorized_keys_of(delivery.user_id) {
                if Some(key) != except_auth_key {
                    server.push(key, bytes.clone());
                }
            }
        }
    }
}

/// Call is one TL call being answered.
pub(crate) struct Call<'a> {
    pub rpc: &'a SandboxRpc,
    pub net: &'a Network,
    pub ctx: &'a CallContext,
    pub request: &'a [u8],
}

impl Call<'_> {
    /// parse deserializes the call's function. Functions deserialize
    /// without their constructor id (the dispatcher already read it).
    pub fn parse<F: Deserializable>(&self) -> Result<F, RpcError> {
        let body = self.request.get(4..).unwrap_or_default();
        F::from_bytes(body).map_err(|_| RpcError::input_fetch_error())
    }

    /// user is the user logged in on the calling key (AUTH_KEY_UNREGISTERED otherwise).
    pub fn user(&self) -> Result<i64, RpcError> {
        Ok(self.net.authorized_user(self.ctx.auth_key_id)?)
    }

    /// deliver pushes the updates to the caller's other sessions and to
    /// everyone else they concern.
    pub fn deliver(&self, deliveries: Vec<Delivery>) {
        self.rpc.deliver(deliveries, Some(self.ctx.auth_key_id));
    }

    /// unknown answers a method this sandbox does not implement.
    pub fn unknown(&self) -> Result<Vec<u8>, RpcError> {
        Err(RpcError::method_invalid(self.request))
    }
}

/// client_info is what the network records about a session's app, from its
/// `initConnection`.
fn client_info(client: &crate::mtproto::ClientInfo) -> network::ClientInfo {
    network::ClientInfo {
        api_id: client.api_id,
        device_model: client.device_model.clone(),
        platform: client.system_version.clone(),
        system_version: client.system_version.clone(),
        app_name: format!("api_id {}", client.api_id),
        app_version: client.app_version.clone(),
        // Every sandbox client connects over loopback.
        ip: "127.0.0.1".to_owned(),
    }
}

/// reply serializes an answer.
pub(crate) fn reply(answer: impl Serializable) -> Result<Vec<u8>, RpcError> {
    Ok(answer.to_bytes())
}

impl From<network::Error> for RpcError {
    fn from(err: network::Error) -> Self {
        RpcError::new(err.code(), err.message())
    }
}

#[async_trait]
impl Dispatch for SandboxRpc {
    async fn call(&self, ctx: &CallContext, request: &[u8]) -> Result<Vec<u8>, RpcError> {
        let Some(id) = request_constructor(request) else {
            return Err(RpcError::input_fetch_error());
        };
        // A key once used from two connections at once is dead for good:
        // Telegram keeps answering AUTH_KEY_DUPLICATED to it, on every
        // connection, rather than AUTH_KEY_UNREGISTERED (a key that can log
        // in again), so the cause stays visible to whoever holds the key.
        if self.network.key_duplicated(ctx.auth_key_id) {
            return Err(network::Error::AuthKeyDuplicated.into());
        }
        let method = tl::name_for_id(id);
        // Unknown keys are refused by the wire; registered ones are touched
        // (last activity, the client's app) whether logged in or not.
        let _ = self
            .network
            .touch(ctx.auth_key_id, ctx.client.as_ref().map(client_info));
        match self.network.take_fault(ctx.auth_key_id, method) {
            Some(Fault::FloodWait { seconds }) => return Err(RpcError::flood_wait(seconds)),
            Some(Fault::FileReferenceExpired) => {
                return Err(RpcError::new(400, "FILE_REFERENCE_EXPIRED"));
            }
            Some(Fault::DropConnection) => {
                if let Some(server) = self.server.get() {
                    server.disconnect(ctx.auth_key_id);
                }
                return Err(RpcError::new(500, "CONNECTION_DROPPED"));
            }
            None => {}
        }
        let call = Call {
            rpc: self,
            net: &self.network,
            ctx,
            request,
        };
        match method
            .split_once('.')
            .map_or("", |(namespace, _)| namespace)
        {
            "account" => account::handle(&call, id).await,
            "auth" => auth::handle(&call, id).await,
            "channels" => messages::handle(&call, id).await,
            "contacts" => contacts::handle(&call, id).await,
            "help" => help::handle(&call, id).await,
            "messages" => messages::handle(&call, id).await,
            "updates" => updates::handle(&call, id).await,
            "upload" => upload::handle(&call, id).await,
            "users" => users::handle(&call, id).await,
            _ => call.unknown(),
        }
    }

    fn concurrent_use(
        &self,
        ctx: &CallContext,
        request: &[u8],
        newer_connection_id: u64,
    ) -> RpcError {
        let method = request_constructor(request).map_or("?", tl::name_for_id);
        match self.network.invalidate_duplicated_key(
            ctx.auth_key_id,
            ctx.connection_id,
            newer_connection_id,
        ) {
            Ok(incident) => warn!(
                auth_key_id = incident.auth_key_id,
                user_id = ?incident.user_id,
                older_connection_id = incident.older_connection_id,
                newer_connection_id = incident.newer_connection_id,
                method,
                "auth key used from two connections at once, key invalidated"
            ),
            // The wire serves registered keys only, and the network keeps
            // every key it registered: a bug, but the call is refused anyway.
            Err(error) => warn!(
                auth_key_id = ctx.auth_key_id,
                %error,
                "auth key used from two connections at once, but the network does not know it"
            ),
        }
        network::Error::AuthKeyDuplicated.into()
    }
}
