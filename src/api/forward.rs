//! Forwarding between gateway instances: a call that needs an account's
//! live Telegram connection is run by the instance that owns the account.
//!
//! Any instance serves any request. When one of the calls that may need
//! Telegram ([`FORWARDABLE`]) finds, while it runs, that another instance
//! owns the account (`Error::OwnedElsewhere`, which reaches this layer as
//! an UNAVAILABLE status carrying the owner's address in two internal
//! headers), [`ForwardLayer`] sends the same request — its body kept from
//! before the call — to the owner's internal endpoint and answers with the
//! owner's response (a stream stays a stream). Nothing a forwardable call
//! writes precedes its first Telegram call, so the owner runs it whole.
//!
//! Between instances, the caller travels signed: its identity (tenant,
//! principal, scopes) as base64 JSON, a timestamp, and an HMAC-SHA256 of
//! both under `cluster.internal_secret`, checked by [`InternalAuthLayer`]
//! on the internal endpoint (within a minute of the sender's clock). A
//! forwarded call is never forwarded again: an owner that lost the account
//! meanwhile answers UNAVAILABLE, and the client retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::{Layer, Service, ServiceExt};
use zeroize::Zeroizing;

use super::error::{OWNER_ADDRESS, OWNER_INSTANCE};
use crate::domain::{Caller, Error, PrincipalKind, Scope, TenantId};
use crate::telemetry::Metrics;

/// FORWARDABLE are the calls that may need the account's live connection.
pub const FORWARDABLE: &[&str] = &[
    "/tez.telegram.v1.AccountService/LogOut",
    "/tez.telegram.v1.AccountService/DeleteAccount",
    "/tez.telegram.v1.AccountService/ListAuthorizations",
    "/tez.telegram.v1.AccountService/TerminateAuthorization",
    "/tez.telegram.v1.ChatService/ListChats",
    "/tez.telegram.v1.ChatService/GetChat",
    "/tez.telegram.v1.ChatService/ResolveChat",
    "/tez.telegram.v1.ChatService/ListContacts",
    "/tez.telegram.v1.MessageService/ListMessages",
    "/tez.telegram.v1.MessageService/GetMessage",
    "/tez.telegram.v1.MessageService/SearchMessages",
    "/tez.telegram.v1.MessageService/SendMessage",
    "/tez.telegram.v1.MessageService/EditMessage",
    "/tez.telegram.v1.MessageService/DeleteMessages",
    "/tez.telegram.v1.MessageService/ForwardMessages",
    "/tez.telegram.v1.MessageService/MarkRead",
    "/tez.telegram.v1.MessageService/SetTyping",
    "/tez.telegram.v1.MediaService/DownloadMedia",
];

/// MAX_FORWARDED_BODY bounds a request body kept for forwarding.
const MAX_FORWARDED_BODY: usize = 1 << 20;
/// MAX_SKEW is how far a forwarded call's timestamp may be from ours.
const MAX_SKEW: i64 = 60;

const CALLER_HEADER: &str = "x-tezgram-internal-caller";
const TIME_HEADER: &str = "x-tezgram-internal-time";
const SIGNATURE_HEADER: &str = "x-tezgram-internal-signature";

/// Forwarded marks a request that arrived from another instance.
#[derive(Debug, Clone, Copy)]
pub struct Forwarded;

/// WireCaller is a caller as it travels between instances.
#[derive(Serialize, Deserialize)]
struct WireCaller {
    tenant: String,
    principal: String,
    kind: String,
    scopes: Vec<String>,
}

impl From<&Caller> for WireCaller {
    fn from(caller: &Caller) -> Self {
        WireCaller {
            tenant: caller.tenant.as_str().to_owned(),
            principal: caller.principal.clone(),
            kind: caller.kind.as_str().to_owned(),
            scopes: caller
                .scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        }
    }
}

impl WireCaller {
    fn into_caller(self) -> Option<Caller> {
        Some(Caller {
            tenant: TenantId::parse(&self.tenant)?,
            principal: self.principal,
            kind: PrincipalKind::parse(&self.kind)?,
            scopes: self
                .scopes
                .iter()
                .map(|s| Scope::parse(s))
                .collect::<Option<_>>()?,
        })
    }
}

/// InternalSecret signs callers between instances.
#[derive(Clone)]
pub struct InternalSecret(Arc<Zeroizing<Vec<u8>>>);

impl InternalSecret {
    pub fn new(secret: &str) -> Self {
        InternalSecret(Arc::new(Zeroizing::new(secret.as_bytes().to_vec())))
    }

    fn mac(&self, caller: &str, time: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(caller.as_bytes());
        mac.update(b".");
        mac.update(time.as_bytes());
        mac
    }

    /// sign puts the caller, a timestamp and their signature into `headers`.
    fn sign(&self, caller: &Caller, headers: &mut HeaderMap) {
        let wire = serde_json::to_vec(&WireCaller::from(caller)).expect("a caller serializes");
        let caller = B64.encode(wire);
        let time = chrono::Utc::now().timestamp().to_string();
        let signature = hex::encode(self.mac(&caller, &time).finalize().into_bytes());
        for (name, value) in [
            (CALLER_HEADER, caller),
            (TIME_HEADER, time),
            (SIGNATURE_HEADER, signature),
        ] {
            headers.insert(
                name,
                HeaderValue::from_str(&value).expect("base64, digits and hex are header values"),
            );
        }
    }

    /// verify reads a signed caller from `headers`.
    fn verify(&self, headers: &HeaderMap) -> Result<Caller, Error> {
        let refused = Error::Unauthenticated("not a signed call from another instance");
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .ok_or(Error::Unauthenticated(
                    "not a signed call from another instance",
                ))
        };
        let (caller, time, signature) = (
            header(CALLER_HEADER)?,
            header(TIME_HEADER)?,
            header(SIGNATURE_HEADER)?,
        );
        let signature =
            hex::decode(signature).map_err(|_| Error::Unauthenticated("bad signature"))?;
        self.mac(caller, time)
            .verify_slice(&signature)
            .map_err(|_| Error::Unauthenticated("bad signature"))?;
        let at: i64 = time
            .parse()
            .map_err(|_| Error::Unauthenticated("bad time"))?;
        if (chrono::Utc::now().timestamp() - at).abs() > MAX_SKEW {
            return Err(Error::Unauthenticated("a stale signed call"));
        }
        let wire: WireCaller = B64
            .decode(caller)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(Error::Unauthenticated("a malformed caller"))?;
        wire.into_caller().ok_or(refused)
    }
}

/// InternalAuthLayer authenticates calls on the internal endpoint: only
/// signed callers from other instances, which are marked [`Forwarded`].
#[derive(Clone)]
pub struct InternalAuthLayer {
    secret: InternalSecret,
}

impl InternalAuthLayer {
    pub fn new(secret: InternalSecret) -> Self {
        Self { secret }
    }
}

impl<S> Layer<S> for InternalAuthLayer {
    type Service = InternalAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InternalAuthService {
            inner,
            secret: self.secret.clone(),
        }
    }
}

#[derive(Clone)]
pub struct InternalAuthService<S> {
    inner: S,
    secret: InternalSecret,
}

impl<S, B> Service<Request<B>> for InternalAuthService<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        match self.secret.verify(request.headers()) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                request.extensions_mut().insert(Forwarded);
                Box::pin(inner.call(request))
            }
            Err(err) => {
                tracing::warn!(error = %err, path = request.uri().path(), "an internal call was refused");
                Box::pin(async move { Ok(Status::from(err).into_http()) })
            }
        }
    }
}

/// Forwarder keeps a channel to each owner it forwarded to.
#[derive(Clone)]
pub struct Forwarder {
    secret: Option<InternalSecret>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    metrics: Metrics,
}

impl Forwarder {
    /// new forwards with `secret`; without one (a single instance) calls
    /// are never forwarded.
    pub fn new(secret: Option<InternalSecret>, metrics: Metrics) -> Self {
        Self {
            secret,
            channels: Arc::default(),
            metrics,
        }
    }

    fn channel(&self, address: &str) -> Result<Channel, Status> {
        let mut channels = self.channels.lock().expect("channels lock");
        if let Some(channel) = channels.get(address) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|_| unavailable())?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let channel = endpoint.connect_lazy();
        channels.insert(address.to_owned(), channel.clone());
        Ok(channel)
    }
}

fn unavailable() -> Status {
    Status::from(Error::Unavailable(
        "the instance that keeps the account's connection".into(),
    ))
}

/// owner_of is where a response made from `Error::OwnedElsewhere` says
/// the call should go.
fn owner_of(headers: &HeaderMap) -> Option<(String, String)> {
    let read = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    Some((read(OWNER_INSTANCE)?, read(OWNER_ADDRESS)?))
}

fn strip(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().remove(OWNER_INSTANCE);
    response.headers_mut().remove(OWNER_ADDRESS);
    response
}

/// ForwardLayer runs forwardable calls here, or at the owner when they
/// find the account owned elsewhere.
#[derive(Clone)]
pub struct ForwardLayer {
    forwarder: Forwarder,
}

impl ForwardLayer {
    pub fn new(forwarder: Forwarder) -> Self {
        Self { forwarder }
    }
}

impl<S> Layer<S> for ForwardLayer {
    type Service = ForwardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ForwardService {
            inner,
            forwarder: self.forwarder.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ForwardService<S> {
    inner: S,
    forwarder: Forwarder,
}

impl<S, B> Service<Request<B>> for ForwardService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let forwardable = FORWARDABLE.contains(&request.uri().path())
            && request.extensions().get::<Forwarded>().is_none()
            && self.forwarder.secret.is_some();
        if !forwardable {
            let request = request.map(Body::new);
            return Box::pin(async move { inner.call(request).await.map(strip) });
        }
        let forwarder = self.forwarder.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // Unary request bodies are small; a larger one (or a broken
            // one) is not kept, and the call just runs here.
            let kept = match http_body_util::Limited::new(body, MAX_FORWARDED_BODY)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    return Ok(
                        Status::invalid_argument("the request body is too large or broken")
                            .into_http(),
                    );
                }
            };
            let caller = parts.extensions.get::<Caller>().cloned();
            let uri = parts.uri.clone();
            let headers = parts.headers.clone();
            let local =
                Request::from_parts(parts, Body::new(http_body_util::Full::new(kept.clone())));
            let response = inner.ready().await?.call(local).await?;
            let Some((instance, address)) = owner_of(response.headers()) else {
                return Ok(response);
            };
            let Some(caller) = caller else {
                return Ok(strip(response));
            };
            if address.is_empty() {
                tracing::warn!(
                    instance,
                    "the account's owner serves no internal address; the call cannot be forwarded"
                );
                return Ok(strip(response));
            }
            Ok(
                forward(&forwarder, &caller, &instance, &address, uri, headers, kept)
                    .await
                    .unwrap_or_else(|status| status.into_http()),
            )
        })
    }
}

/// forward sends the request to the owner's internal endpoint and returns
/// its response as it comes (headers, messages, trailers).
async fn forward(
    forwarder: &Forwarder,
    caller: &Caller,
    instance: &str,
    address: &str,
    uri: http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response<Body>, Status> {
    let secret = forwarder.secret.as_ref().ok_or_else(unavailable)?;
    let mut channel = forwarder.channel(address)?;
    let mut request = Request::new(Body::new(http_body_util::Full::new(body)));
    *request.method_mut() = http::Method::POST;
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    *request.uri_mut() = format!("http://{address}{path}")
        .parse()
        .map_err(|_| unavailable())?;
    // What the client sent travels on (content type, deadline, its own
    // metadata), except its credentials: the signed caller replaces them.
    for (name, value) in &headers {
        let name = name.as_str();
        if matches!(
            name,
            "authorization" | "x-api-key" | "host" | "content-length"
        ) || name.starts_with("x-tezgram-internal-")
        {
            continue;
        }
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| unavailable())?,
            value.clone(),
        );
    }
    let grpc = [
        (http::header::CONTENT_TYPE, "application/grpc"),
        (http::header::TE, "trailers"),
    ];
    for (name, value) in grpc {
        request
            .headers_mut()
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    secret.sign(caller, request.headers_mut());
    forwarder.metrics.forwarded_calls.inc();
    tracing::debug!(
        owner = instance,
        path,
        "call forwarded to the account's owner"
    );
    let response = channel
        .ready()
        .await
        .map_err(|_| unavailable())?
        .call(request)
        .await
        .map_err(|err| {
            tracing::warn!(owner = instance, error = %err, "forwarding a call failed");
            unavailable()
        })?;
    Ok(strip(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            tenant: TenantId::parse("acme").unwrap(),
            principal: "api-key:k1".into(),
            kind: PrincipalKind::ApiKey,
            scopes: [Scope::MessagesWrite].into_iter().collect(),
        }
    }

    #[test]
    fn a_signed_caller_travels_and_nothing_else_passes() {
        let secret = InternalSecret::new("internal-secret-0123456789abcdef0123");
        let mut headers = HeaderMap::new();
        secret.sign(&caller(), &mut headers);
        assert_eq!(secret.verify(&headers).unwrap(), caller());
        // Another secret, an altered caller, a missing signature: refused.
        let other = InternalSecret::new("another-secret-0123456789abcdef01234");
        assert!(other.verify(&headers).is_err());
        let mut altered = headers.clone();
        let forged = B64.encode(
            serde_json::to_vec(&WireCaller {
                tenant: "globex".into(),
                principal: "api-key:k1".into(),
                kind: "api_key".into(),
                scopes: vec!["messages:write".into()],
            })
            .unwrap(),
        );
        altered.insert(CALLER_HEADER, HeaderValue::from_str(&forged).unwrap());
        assert!(secret.verify(&altered).is_err());
        let mut unsigned = headers.clone();
        unsigned.remove(SIGNATURE_HEADER);
        assert!(secret.verify(&unsigned).is_err());
        let mut stale = HeaderMap::new();
        let old = (chrono::Utc::now().timestamp() - 3600).to_string();
        let wire = B64.encode(serde_json::to_vec(&WireCaller::from(&caller())).unwrap());
        let signature = hex::encode(secret.mac(&wire, &old).finalize().into_bytes());
        stale.insert(CALLER_HEADER, HeaderValue::from_str(&wire).unwrap());
        stale.insert(TIME_HEADER, HeaderValue::from_str(&old).unwrap());
        stale.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
        assert!(secret.verify(&stale).is_err(), "an hour old");
    }
}
