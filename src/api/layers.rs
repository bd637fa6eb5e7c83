//! Tower layers around the v1 services, outermost first (see `server.rs`):
//! grpc-web → [`RpcLayer`] (span + metrics) → per-IP limit → [`AuthLayer`] →
//! per-principal limit → services.

use std::collections::HashSet;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{Request, Response};
use tonic::Status;
use tonic::transport::server::TcpConnectInfo;
use tower::{Layer, Service};
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;
use tracing::Instrument;
use tracing::field::Empty;

use super::API_PREFIX;
use crate::auth::Authenticator;
use crate::domain::{Caller, Error, TenantId};
use crate::telemetry::Metrics;

/// KnownMethods are the gRPC paths this server serves; metrics label any
/// other path `unknown`, so callers cannot blow up label cardinality.
#[derive(Clone, Debug)]
pub struct KnownMethods(Arc<HashSet<String>>);

impl KnownMethods {
    /// from_descriptors lists every method of every service in an encoded
    /// FileDescriptorSet, plus health and reflection.
    pub fn from_descriptors(encoded: &[u8]) -> Self {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(encoded)
            .expect("the embedded descriptor set is valid");
        let mut paths: HashSet<String> = set
            .file
            .iter()
            .flat_map(|file| {
                file.service.iter().flat_map(move |service| {
                    service.method.iter().map(move |method| {
                        format!("/{}.{}/{}", file.package(), service.name(), method.name())
                    })
                })
            })
            .collect();
        paths.extend(
            [
                "/grpc.health.v1.Health/Check",
                "/grpc.health.v1.Health/Watch",
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            ]
            .map(String::from),
        );
        Self(Arc::new(paths))
    }

    fn label<'a>(&self, path: &'a str) -> &'a str {
        if self.0.contains(path) {
            path
        } else {
            "unknown"
        }
    }
}

/// RpcLayer opens a tracing span per RPC and records Prometheus metrics
/// (count by method and code, latency by method).
///
/// The code is read from the response headers, where tonic puts it for
/// every failed unary call (trailers-only responses); a response without it
/// is counted OK. A stream that fails after it started is therefore counted
/// by its start, and its latency is time to first byte.
#[derive(Clone)]
pub struct RpcLayer {
    metrics: Metrics,
    methods: KnownMethods,
}

impl RpcLayer {
    pub fn new(metrics: Metrics, methods: KnownMethods) -> Self {
        Self { metrics, methods }
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
    layer: RpcLayer,
}

impl<S, B, RB> Service<Request<B>> for RpcService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = self.layer.methods.label(request.uri().path()).to_owned();
        let span = tracing::info_span!(
            "rpc",
            otel.name = %method,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
            tenant = Empty,
            principal = Empty,
        );
        let metrics = self.layer.metrics.clone();
        let start = Instant::now();
        let future = span.in_scope(|| self.inner.call(request));
        async move {
            let result = future.await;
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(tonic::Code::from)
                    .unwrap_or(tonic::Code::Ok),
                Err(_) => tonic::Code::Internal,
            };
            tracing::Span::current().record("rpc.grpc.status_code", code as i32);
            metrics.observe_rpc(&method, code, start.elapsed());
            if matches!(
                code,
                tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss
            ) {
                tracing::error!(code = ?code, "rpc failed");
            } else {
                tracing::debug!(code = ?code, "rpc done");
            }
            result
        }
        .instrument(span)
        .boxed_send()
    }
}

trait BoxedSend<T>: std::future::Future<Output = T> + Send + Sized + 'static {
    fn boxed_send(self) -> BoxFuture<'static, T> {
        Box::pin(self)
    }
}

impl<T, F: std::future::Future<Output = T> + Send + 'static> BoxedSend<T> for F {}

/// AuthLayer authenticates every call under [`API_PREFIX`] and attaches the
/// [`Caller`] to the request; unauthenticated calls end here with
/// UNAUTHENTICATED. Health and reflection pass through.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Authenticator,
}

impl AuthLayer {
    pub fn new(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Authenticator,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>> + Clone + Send + 'static,
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
        // The ready service is the one to call; leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !request.uri().path().starts_with(API_PREFIX) {
            return Box::pin(inner.call(request));
        }
        let authenticator = self.authenticator.clone();
        // Read the credentials before the first await, so the future does not
        // borrow the request (whose body need not be Sync).
        let credentials = credentials(request.headers());
        Box::pin(async move {
            let caller = match credentials {
                Ok((authorization, api_key)) => {
                    authenticator
                        .authenticate(authorization.as_deref(), api_key.as_deref())
                        .await
                }
                Err(err) => Err(err),
            };
            match caller {
                Ok(caller) => {
                    let span = tracing::Span::current();
                    span.record("tenant", caller.tenant.as_str());
                    span.record("principal", caller.principal.as_str());
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(err) => Ok(Status::from(err).into_http()),
            }
        })
    }
}

type Credentials = (Option<String>, Option<String>);

/// credentials are the `authorization` and `x-api-key` header values.
fn credentials(headers: &http::HeaderMap) -> Result<Credentials, Error> {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map(str::to_owned)
                    .map_err(|_| Error::Unauthenticated("credentials must be ascii"))
            })
            .transpose()
    };
    Ok((header("authorization")?, header("x-api-key")?))
}

/// peer_ip is the TCP peer of a request, as tonic recorded it.
fn peer_ip<T>(request: &Request<T>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .map(|addr| addr.ip())
}

/// PeerIpKey keys the per-IP rate limit. tower_governor's own IP extractors
/// cannot see tonic's connection info, hence this one.
#[derive(Clone, Copy, Debug)]
pub struct PeerIpKey;

impl KeyExtractor for PeerIpKey {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        peer_ip(request).ok_or(GovernorError::UnableToExtractKey)
    }
}

/// PrincipalKey keys the per-principal rate limit: the authenticated caller,
/// or the peer IP for calls that need no credentials (health, reflection).
#[derive(Clone, Copy, Debug)]
pub struct PrincipalKey;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    Caller(TenantId, String),
    Anonymous(IpAddr),
}

impl KeyExtractor for PrincipalKey {
    type Key = Principal;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        if let Some(caller) = request.extensions().get::<Caller>() {
            return Ok(Principal::Caller(
                caller.tenant.clone(),
                caller.principal.clone(),
            ));
        }
        peer_ip(request)
            .map(Principal::Anonymous)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// rate_limited answers a governor refusal as RESOURCE_EXHAUSTED with RetryInfo.
pub fn rate_limited(error: GovernorError) -> Response<tonic::body::Body> {
    let status = match error {
        GovernorError::TooManyRequests { wait_time, .. } => Status::from(Error::RateLimited {
            retry_after: Duration::from_secs(wait_time),
        }),
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            super::error::unidentified_peer()
        }
    };
    status.into_http()
}
