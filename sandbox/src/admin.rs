//! The standalone sandbox's admin API: the [`SandboxLink`] operations as
//! JSON over HTTP/1.1 on their own (loopback) port, for gateways in other
//! processes ([`crate::remote::RemoteLink`]). Every request carries
//! `authorization: Bearer <admin token>`, compared in constant time.
//!
//! Refusals answer 422 with Telegram's `{code, message}`; a missing or
//! wrong token 401; a sandbox-side failure 500. Neither the token nor auth
//! keys are ever logged.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::link::{
    self, DuplicateKeyIncident, History, Message, NewUser, SandboxLink, User, UserRef,
};

/// The admin API's paths, shared by the server and the client.
pub(crate) mod paths {
    pub const INFO: &str = "/v1/info";
    pub const AUTH_KEYS: &str = "/v1/auth-keys";
    pub const USERS: &str = "/v1/users";
    pub const BOTS: &str = "/v1/bots";
    pub const FIND_USER: &str = "/v1/users/find";
    pub const HAS_PASSWORD: &str = "/v1/users/has-password";
    pub const MESSAGES: &str = "/v1/messages";
    pub const HISTORY: &str = "/v1/messages/history";
    pub const CONTACTS: &str = "/v1/users/contacts";
    pub const QR_LOGINS: &str = "/v1/qr-logins";
    pub const FLOOD_WAITS: &str = "/v1/faults/flood-wait";
    pub const REVOKE_SESSION: &str = "/v1/sessions/revoke";
    pub const DROP_CONNECTIONS: &str = "/v1/connections/drop";
    pub const DUPLICATE_KEY_INCIDENTS: &str = "/v1/incidents/duplicate-keys";
}

// ---- wire types ----

#[derive(Serialize, Deserialize)]
pub(crate) struct Info {
    pub mtproto_addr: SocketAddr,
}

/// AuthKey carries a key in base64: the body is the only place it appears.
#[derive(Serialize, Deserialize)]
pub(crate) struct AuthKey {
    pub owner: String,
    pub auth_key: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AuthKeyId {
    pub auth_key_id: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CreateUser {
    pub owner: String,
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    #[serde(default)]
    pub about: Option<String>,
    pub password: Option<String>,
    pub password_hint: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CreateBot {
    pub owner: String,
    pub first_name: String,
    pub username: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct BotCreated {
    pub user: User,
    pub token: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct FindUser {
    pub owner: String,
    pub user: UserRef,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct FoundUser {
    pub user: Option<User>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ListUsers {
    pub owner: String,
    pub after: i64,
    pub limit: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct UserId {
    pub user_id: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct HasPassword {
    pub has_password: bool,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SendMessage {
    pub owner: String,
    pub from: i64,
    pub to: i64,
    pub text: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct HistoryOf {
    pub owner: String,
    pub user_id: i64,
    pub with: i64,
    pub limit: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ContactsOf {
    pub owner: String,
    pub user_id: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AcceptQrLogin {
    pub owner: String,
    pub user_id: i64,
    /// token is the QR login token in base64.
    pub token: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct FloodWait {
    pub auth_key_id: i64,
    pub method: String,
    pub seconds: u32,
    pub count: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Dropped {
    pub dropped: usize,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Done {}

/// ErrorBody is every error's body: Telegram's code and message for a
/// refusal.
#[derive(Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    pub code: i32,
    pub message: String,
}

// ---- server ----

/// AdminApiOptions configure the admin API.
pub struct AdminApiOptions {
    /// listen is the HTTP address; keep it on loopback.
    pub listen: SocketAddr,
    /// token is the bearer token every request must carry, at least
    /// [`MIN_ADMIN_TOKEN_CHARS`] characters.
    pub token: Zeroizing<String>,
    /// allow_remote lets `listen` be a non-loopback address (the admin API
    /// creates users and logs sessions out: off loopback only on purpose).
    pub allow_remote: bool,
}

/// MIN_ADMIN_TOKEN_CHARS is the shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

impl std::fmt::Debug for AdminApiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApiOptions")
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

/// Error is why the admin API could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the sandbox admin api needs an admin token (sandbox.admin_token)")]
    NoToken,
    #[error(
        "the sandbox admin token (sandbox.admin_token) must be at least {MIN_ADMIN_TOKEN_CHARS} characters"
    )]
    ShortToken,
    #[error(
        "the sandbox admin api listens on {0}, not loopback; allow it explicitly (--admin-allow-remote) if that is meant"
    )]
    NotLoopback(SocketAddr),
    #[error("sandbox admin api: {0}")]
    Io(#[from] std::io::Error),
}

/// AdminApi is the admin API bound to its port, not yet serving.
pub struct AdminApi {
    listener: TcpListener,
    router: Router,
}

struct Shared {
    link: Arc<dyn SandboxLink>,
    /// token_digest is SHA-256 of the token: comparing digests in constant
    /// time leaks neither the token's bytes nor its length.
    token_digest: [u8; 32],
}

type AppState = Arc<Shared>;

impl AdminApi {
    /// bind binds the admin API for `link` (the sandbox in this process).
    pub async fn bind(
        options: AdminApiOptions,
        link: Arc<dyn SandboxLink>,
    ) -> Result<AdminApi, Error> {
        let AdminApiOptions {
            listen,
            token,
            allow_remote,
        } = options;
        if token.trim().is_empty() {
            return Err(Error::NoToken);
        }
        if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
            return Err(Error::ShortToken);
        }
        if !listen.ip().is_loopback() && !allow_remote {
            return Err(Error::NotLoopback(listen));
        }
        let state: AppState = Arc::new(Shared {
            link,
            token_digest: Sha256::digest(token.as_bytes()).into(),
        });
        let router = Router::new()
            .route(paths::INFO, get(info))
            .route(paths::AUTH_KEYS, post(register_auth_key))
            .route(paths::USERS, post(create_user).get(list_users))
            .route(paths::BOTS, post(create_bot))
            .route(paths::FIND_USER, post(find_user))
            .route(paths::HAS_PASSWORD, post(has_password))
            .route(paths::MESSAGES, post(send_message))
            .route(paths::HISTORY, post(history))
            .route(paths::CONTACTS, post(contacts))
            .route(paths::QR_LOGINS, post(accept_qr_login))
            .route(paths::FLOOD_WAITS, post(inject_flood_wait))
            .route(paths::REVOKE_SESSION, post(revoke_session))
            .route(paths::DROP_CONNECTIONS, post(drop_connections))
            .route(paths::DUPLICATE_KEY_INCIDENTS, get(duplicate_key_incidents))
            .layer(middleware::from_fn_with_state(state.clone(), authenticate))
            .with_state(state);
        let listener = TcpListener::bind(listen).await?;
        Ok(AdminApi { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// run serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    if presented.is_empty() || !bool::from(digest.ct_eq(&state.token_digest)) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(ErrorBody {
                code: 401,
                message: "UNAUTHORIZED".into(),
            }),
        )
            .into_response();
    }
    next.run(request).await
}

/// Failure is a link error as an HTTP answer.
struct Failure(link::Error);

impl From<link::Error> for Failure {
    fn from(err: link::Error) -> Self {
        Failure(err)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code, message) = match self.0 {
            link::Error::Refused { code, message } => {
                (StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            link::Error::Unauthorized => (StatusCode::UNAUTHORIZED, 401, "UNAUTHORIZED".into()),
            link::Error::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, 503, message),
            link::Error::Internal(message) => {
                tracing::warn!(error = %message, "sandbox admin request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, 500, message)
            }
        };
        (status, Json(ErrorBody { code, message })).into_response()
    }
}

fn bad_request(field: &str) -> Failure {
    Failure(link::Error::Refused {
        code: 400,
        message: format!("{}_INVALID", field.to_uppercase()),
    })
}

type Answer<T> = Result<Json<T>, Failure>;

async fn info(State(state): State<AppState>) -> Json<Info> {
    Json(Info {
        mtproto_addr: state.link.mtproto_addr(),
    })
}

async fn register_auth_key(
    State(state): State<AppState>,
    Json(body): Json<AuthKey>,
) -> Answer<AuthKeyId> {
    let encoded = Zeroizing::new(body.auth_key);
    let bytes = Zeroizing::new(
        B64.decode(encoded.as_bytes())
            .map_err(|_| bad_request("auth_key"))?,
    );
    let key: [u8; 256] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| bad_request("auth_key"))?;
    let auth_key_id = state.link.register_auth_key(&body.owner, key).await?;
    Ok(Json(AuthKeyId { auth_key_id }))
}

async fn create_user(State(state): State<AppState>, Json(body): Json<CreateUser>) -> Answer<User> {
    let CreateUser {
        owner,
        phone,
        first_name,
        last_name,
        username,
        about,
        password,
        password_hint,
    } = body;
    let user = state
        .link
        .create_user(NewUser {
            owner,
            phone,
            first_name,
            last_name,
            username,
            about,
            password: password.map(|p| (Zeroizing::new(p), password_hint)),
        })
        .await?;
    Ok(Json(user))
}

async fn list_users(
    State(state): State<AppState>,
    Query(query): Query<ListUsers>,
) -> Answer<Vec<User>> {
    Ok(Json(
        state
            .link
            .users(&query.owner, query.after, query.limit)
            .await?,
    ))
}

async fn create_bot(
    State(state): State<AppState>,
    Json(body): Json<CreateBot>,
) -> Answer<BotCreated> {
    let (user, token) = state
        .link
        .create_bot(&body.owner, &body.first_name, &body.username)
        .await?;
    Ok(Json(BotCreated { user, token }))
}

async fn find_user(State(state): State<AppState>, Json(body): Json<FindUser>) -> Answer<FoundUser> {
    Ok(Json(FoundUser {
        user: state.link.user(&body.owner, &body.user).await?,
    }))
}

async fn has_password(
    State(state): State<AppState>,
    Json(body): Json<UserId>,
) -> Answer<HasPassword> {
    Ok(Json(HasPassword {
        has_password: state.link.has_password(body.user_id).await?,
    }))
}

async fn send_message(
    State(state): State<AppState>,
    Json(body): Json<SendMessage>,
) -> Answer<Message> {
    Ok(Json(
        state
            .link
            .send_message(&body.owner, body.from, body.to, body.text)
            .await?,
    ))
}

async fn history(State(state): State<AppState>, Json(body): Json<HistoryOf>) -> Answer<History> {
    Ok(Json(
        state
            .link
            .history(&body.owner, body.user_id, body.with, body.limit)
            .await?,
    ))
}

async fn contacts(
    State(state): State<AppState>,
    Json(body): Json<ContactsOf>,
) -> Answer<Vec<User>> {
    Ok(Json(state.link.contacts(&body.owner, body.user_id).await?))
}

async fn accept_qr_login(
    State(state): State<AppState>,
    Json(body): Json<AcceptQrLogin>,
) -> Answer<Done> {
    let token = B64
        .decode(&body.token)
        .map_err(|_| bad_request("auth_token"))?;
    state
        .link
        .accept_qr_login(&body.owner, body.user_id, &token)
        .await?;
    Ok(Json(Done {}))
}

async fn inject_flood_wait(
    State(state): State<AppState>,
    Json(body): Json<FloodWait>,
) -> Answer<Done> {
    state
        .link
        .inject_flood_wait(body.auth_key_id, &body.method, body.seconds, body.count)
        .await?;
    Ok(Json(Done {}))
}

async fn revoke_session(
    State(state): State<AppState>,
    Json(body): Json<AuthKeyId>,
) -> Answer<Done> {
    state.link.revoke_session(body.auth_key_id).await?;
    Ok(Json(Done {}))
}

async fn drop_connections(
    State(state): State<AppState>,
    Json(body): Json<AuthKeyId>,
) -> Answer<Dropped> {
    Ok(Json(Dropped {
        dropped: state.link.drop_connections(body.auth_key_id).await?,
    }))
}

async fn duplicate_key_incidents(
    State(state): State<AppState>,
) -> Answer<Vec<DuplicateKeyIncident>> {
    Ok(Json(state.link.duplicate_key_incidents().await?))
}
