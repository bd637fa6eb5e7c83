//! [`RemoteLink`]: a [`SandboxLink`] to a standalone sandbox
//! (`tezgram sandbox`) through its admin API ([`crate::admin`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::admin::{self, paths};
use crate::link::{
    DuplicateKeyIncident, Error, History, Message, NewUser, Result, SandboxLink, User, UserRef,
};

/// TIMEOUT bounds one admin request (password derivation included).
const TIMEOUT: Duration = Duration::from_secs(15);

/// RemoteLink talks to a standalone sandbox's admin API. Cheap to clone.
#[derive(Clone)]
pub struct RemoteLink {
    client: Client<HttpConnector, Full<Bytes>>,
    /// base is the admin API's URL without a trailing slash.
    base: String,
    authorization: HeaderValue,
    mtproto_addr: SocketAddr,
}

impl std::fmt::Debug for RemoteLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteLink")
            .field("base", &self.base)
            .field("mtproto_addr", &self.mtproto_addr)
            .finish_non_exhaustive()
    }
}

impl RemoteLink {
    /// connect checks the admin API at `base_url` (`http://host:port`) with
    /// `token` and learns the sandbox's MTProto address. A wrong token is
    /// [`Error::Unauthorized`]; no answer is [`Error::Unavailable`].
    pub async fn connect(base_url: &str, token: &str) -> Result<RemoteLink> {
        let base = base_url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| Error::Unavailable(format!("bad sandbox admin url {base:?}")))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(Error::Unavailable(format!(
                "the sandbox admin url must be http://host:port, not {base:?}"
            )));
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::Unauthorized)?;
        authorization.set_sensitive(true);
        let mut link = RemoteLink {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
            authorization,
            mtproto_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let info: admin::Info = link.call(Method::GET, paths::INFO, None::<&()>).await?;
        link.mtproto_addr = reachable(info.mtproto_addr, &uri);
        Ok(link)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        // The body may hold an auth key or a password: it is wiped after
        // sending and never appears in an error.
        let payload = match body {
            Some(body) => Zeroizing::new(
                serde_json::to_vec(body).map_err(|err| Error::Internal(err.to_string()))?,
            ),
            None => Zeroizing::new(Vec::new()),
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(&payload)))
            .map_err(|err| Error::Internal(err.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|err| Error::Unavailable(format!("{}: {err}", self.base)))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|err| Error::Unavailable(format!("{}: {err}", self.base)))?
                .to_bytes();
            Ok::<_, Error>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| Error::Unavailable(format!("{}: timed out", self.base)))??;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|err| Error::Unavailable(format!("{path}: unreadable answer: {err}")));
        }
        let refusal: Option<admin::ErrorBody> = serde_json::from_slice(&bytes).ok();
        Err(match (status, refusal) {
            (StatusCode::UNAUTHORIZED, _) => Error::Unauthorized,
            (StatusCode::UNPROCESSABLE_ENTITY, Some(body)) => Error::Refused {
                code: body.code,
                message: body.message,
            },
            (StatusCode::INTERNAL_SERVER_ERROR, Some(body)) => Error::Internal(body.message),
            (status, _) => Error::Unavailable(format!("{path}: answered {status}")),
        })
    }
}

/// reachable is the sandbox's MTProto address as seen from here: a
/// sandbox listening on every interface is reached at its admin host.
fn reachable(addr: SocketAddr, admin: &Uri) -> SocketAddr {
    if !addr.ip().is_unspecified() {
        return addr;
    }
    let host = admin.host().unwrap_or_default();
    match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, addr.port()),
        Err(_) => SocketAddr::from(([127, 0, 0, 1], addr.port())),
    }
}

#[async_trait]
impl SandboxLink for RemoteLink {
    fn mtproto_addr(&self) -> SocketAddr {
        self.mtproto_addr
    }

    async fn register_auth_key(&self, owner: &str, key: [u8; 256]) -> Result<i64> {
        let body = admin::AuthKey {
            owner: owner.to_owned(),
            auth_key: B64.encode(key),
        };
        let answer: Result<admin::AuthKeyId> =
            self.call(Method::POST, paths::AUTH_KEYS, Some(&body)).await;
        drop(Zeroizing::new(body.auth_key));
        Ok(answer?.auth_key_id)
    }

    async fn create_user(&self, new: NewUser) -> Result<User> {
        let NewUser {
            owner,
            phone,
            first_name,
            last_name,
            username,
            about,
            password,
        } = new;
        let (password, password_hint) = match password {
            Some((password, hint)) => (Some(password), hint),
            None => (None, None),
        };
        let body = admin::CreateUser {
            owner,
            phone,
            first_name,
            last_name,
            username,
            about,
            password: password.as_ref().map(|p| p.as_str().to_owned()),
            password_hint,
        };
        let user = self.call(Method::POST, paths::USERS, Some(&body)).await;
        drop(body.password.map(Zeroizing::new));
        user
    }

    async fn create_bot(
        &self,
        owner: &str,
        first_name: &str,
        username: &str,
    ) -> Result<(User, String)> {
        let body = admin::CreateBot {
            owner: owner.to_owned(),
            first_name: first_name.to_owned(),
            username: username.to_owned(),
        };
        let created: admin::BotCreated = self.call(Method::POST, paths::BOTS, Some(&body)).await?;
        Ok((created.user, created.token))
    }

    async fn user(&self, owner: &str, user: &UserRef) -> Result<Option<User>> {
        let body = admin::FindUser {
            owner: owner.to_owned(),
            user: user.clone(),
        };
        let found: admin::FoundUser = self
            .call(Method::POST, paths::FIND_USER, Some(&body))
            .await?;
        Ok(found.user)
    }

    async fn users(&self, owner: &str, after: i64, limit: u32) -> Result<Vec<User>> {
        // The query the admin API's `Query<ListUsers>` reads, encoded by
        // the same serde shape.
        let query = serde_urlencoded::to_string(admin::ListUsers {
            owner: owner.to_owned(),
            after,
            limit,
        })
        .map_err(|err| Error::Internal(format!("encoding the users query: {err}")))?;
        let path = format!("{}?{query}", paths::USERS);
        self.call(Method::GET, &path, None::<&()>).await
    }

    async fn has_password(&self, user_id: i64) -> Result<bool> {
        let body = admin::UserId { user_id };
        let answer: admin::HasPassword = self
            .call(Method::POST, paths::HAS_PASSWORD, Some(&body))
            .await?;
        Ok(answer.has_password)
    }

    async fn send_message(&self, owner: &str, from: i64, to: i64, text: String) -> Result<Message> {
        let body = admin::SendMessage {
            owner: owner.to_owned(),
            from,
            to,
            text,
        };
        self.call(Method::POST, paths::MESSAGES, Some(&body)).await
    }

    async fn history(&self, owner: &str, user_id: i64, with: i64, limit: u32) -> Result<History> {
        let body = admin::HistoryOf {
            owner: owner.to_owned(),
            user_id,
            with,
            limit,
        };
        self.call(Method::POST, paths::HISTORY, Some(&body)).await
    }

    async fn contacts(&self, owner: &str, user_id: i64) -> Result<Vec<User>> {
        let body = admin::ContactsOf {
            owner: owner.to_owned(),
            user_id,
        };
        self.call(Method::POST, paths::CONTACTS, Some(&body)).await
    }

    async fn accept_qr_login(&self, owner: &str, user_id: i64, token: &[u8]) -> Result<()> {
        let body = admin::AcceptQrLogin {
            owner: owner.to_owned(),
            user_id,
            token: B64.encode(token),
        };
        let _: admin::Done = self
            .call(Method::POST, paths::QR_LOGINS, Some(&body))
            .await?;
        Ok(())
    }

    async fn inject_flood_wait(
        &self,
        auth_key_id: i64,
        method: &str,
        seconds: u32,
        count: u32,
    ) -> Result<()> {
        let body = admin::FloodWait {
            auth_key_id,
            method: method.to_owned(),
            seconds,
            count,
        };
        let _: admin::Done = self
            .call(Method::POST, paths::FLOOD_WAITS, Some(&body))
            .await?;
        Ok(())
    }

    async fn revoke_session(&self, auth_key_id: i64) -> Result<()> {
        let body = admin::AuthKeyId { auth_key_id };
        let _: admin::Done = self
            .call(Method::POST, paths::REVOKE_SESSION, Some(&body))
            .await?;
        Ok(())
    }

    async fn drop_connections(&self, auth_key_id: i64) -> Result<usize> {
        let body = admin::AuthKeyId { auth_key_id };
        let answer: admin::Dropped = self
            .call(Method::POST, paths::DROP_CONNECTIONS, Some(&body))
            .await?;
        Ok(answer.dropped)
    }

    async fn duplicate_key_incidents(&self) -> Result<Vec<DuplicateKeyIncident>> {
        self.call(Method::GET, paths::DUPLICATE_KEY_INCIDENTS, None::<&()>)
            .await
    }
}
