//! The gateway's promises at its boundary, through the real server: callers
//! are authenticated, input is validated, errors are rich, grpc-web works,
//! and every v1 RPC is served.

use std::time::Duration;

use chrono::Utc;
use prost::Message;
use tezgram::auth;
use tezgram::domain::ports::{AccountStore, ApiKey, ApiKeyStore};
use tezgram::domain::{Account, AccountId, AccountKind, AccountState, Scope, TenantId};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tezgram_sdk::v1::crm_service_client::CrmServiceClient;
use tezgram_sdk::v1::media_service_client::MediaServiceClient;
use tezgram_sdk::v1::sandbox_service_client::SandboxServiceClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::server::{JWT_SECRET, TestServer, authed};

const DOMAIN: &str = "telegram.tez.dev";

fn reason(status: &tonic::Status) -> String {
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"));
    assert_eq!(info.domain, DOMAIN);
    info.reason
}

/// account is an authorized account row of its own Telegram user (one
/// account per user and phone in a tenant).
pub fn account(tenant: &str, name: &str) -> Account {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = Utc::now();
    Account {
        id: AccountId::new(),
        tenant: TenantId::parse(tenant).unwrap(),
        kind: AccountKind::User,
        state: AccountState::Authorized,
        phone_number: Some(format!("99966{:05}", 12345 + n)),
        telegram_user_id: Some(1000 + n),
        username: None,
        display_name: name.into(),
        password_hint: None,
        created_at: now,
        updated_at: now,
    }
}

async fn list(
    client: &mut AccountServiceClient<tonic::transport::Channel>,
    token: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListAccountsResponse, tonic::Status> {
    client
        .list_accounts(authed(
            pb::ListAccountsRequest {
                page_size,
                page_token: page_token.to_owned(),
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn health_reports_serving_without_credentials() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "tez.telegram.v1.AccountService"] {
        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn list_accounts_pages_through_the_callers_tenant_only() {
    let server = TestServer::start().await;
    let store = server.store().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = account("acme", &format!("Acme {i}"));
        store.insert_account(&a).await.unwrap();
        ids.push(a.id.to_string());
    }
    let other = account("globex", "Globex");
    store.insert_account(&other).await.unwrap();

    let mut client = AccountServiceClient::new(server.channel().await);
    let token = server.token("acme");
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = list(&mut client, &token, 2, &page_token).await.unwrap();
        pages += 1;
        assert!(page.accounts.len() <= 2);
        seen.extend(page.accounts.iter().map(|a| a.account_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, ids, "every acme account once, oldest first");
    assert_eq!(pages, 3);

    let globex = list(&mut client, &server.token("globex"), 0, "")
        .await
        .unwrap();
    assert_eq!(globex.accounts.len(), 1);
    assert_eq!(globex.accounts[0].account_id, other.id.to_string());
    assert_eq!(globex.accounts[0].state(), pb::AccountState::Authorized);

    // Another tenant's account is NOT_FOUND, never PERMISSION_DENIED.
    let err = client
        .get_account(authed(
            pb::GetAccountRequest {
                account_id: other.id.to_string(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(reason(&err), "NOT_FOUND");

    let got = client
        .get_account(authed(
            pb::GetAccountRequest {
                account_id: ids[0].clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(got.display_name, "Acme 0");
    assert_eq!(got.kind(), pb::AccountKind::User);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_the_field() {
    let server = TestServer::start().await;
    let mut client = AccountServiceClient::new(server.channel().await);
    let token = server.token("acme");

    let err = list(&mut client, &token, -5, "").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_ARGUMENT");
    let bad = err.get_details_bad_request().expect("BadRequest details");
    assert_eq!(bad.field_violations.len(), 1);
    assert_eq!(bad.field_violations[0].field, "page_size");
    assert!(err.message().contains("page_size"), "{}", err.message());

    // Every bad field is reported at once.
    let err = list(&mut client, &token, 5000, "not-a-token")
        .await
        .unwrap_err();
    let fields: Vec<_> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["page_size", "page_token"]);

    let err = client
        .get_account(authed(
            pb::GetAccountRequest {
                account_id: "42".into(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_details_bad_request().unwrap().field_violations[0].field,
        "account_id"
    );
    server.stop().await;
}

#[tokio::test]
async fn calls_without_valid_credentials_are_unauthenticated() {
    let server = TestServer::start().await;
    let mut client = AccountServiceClient::new(server.channel().await);

    let err = client
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason(&err), "UNAUTHENTICATED");

    let mut expired = server.claims("acme");
    expired.exp = Utc::now().timestamp() - 3600;
    let mut wrong_audience = server.claims("acme");
    wrong_audience.aud = "someone-else".into();
    let mut wrong_issuer = server.claims("acme");
    wrong_issuer.iss = "someone-else".into();
    let mut not_yet = server.claims("acme");
    not_yet.nbf = Some(Utc::now().timestamp() + 3600);
    let mut no_tenant = server.claims("acme");
    no_tenant.tenant = String::new();
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let claims_json = serde_json::to_vec(&server.claims("acme")).unwrap();
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims_json)
    );
    let cases = [
        (
            "expired",
            auth::issue_hs256(JWT_SECRET.as_bytes(), &expired),
        ),
        (
            "wrong audience",
            auth::issue_hs256(JWT_SECRET.as_bytes(), &wrong_audience),
        ),
        (
            "wrong issuer",
            auth::issue_hs256(JWT_SECRET.as_bytes(), &wrong_issuer),
        ),
        (
            "not yet valid",
            auth::issue_hs256(JWT_SECRET.as_bytes(), &not_yet),
        ),
        (
            "no tenant",
            auth::issue_hs256(JWT_SECRET.as_bytes(), &no_tenant),
        ),
        (
            "wrong key",
            auth::issue_hs256(b"another-secret", &server.claims("acme")),
        ),
        ("alg none", alg_none),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let err = list(&mut client, &token, 0, "").await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{what}");
        assert_eq!(reason(&err), "UNAUTHENTICATED", "{what}");
    }
    server.stop().await;
}

#[tokio::test]
async fn api_keys_are_scoped_tenant_bound_and_revocable() {
    let server = TestServer::start().await;
    let store = server.store().await;
    let acme = account("acme", "Acme");
    store.insert_account(&acme).await.unwrap();

    let mint = |scopes: Vec<Scope>| {
        let minted = auth::mint_api_key();
        let key = ApiKey {
            id: minted.id.clone(),
            tenant: TenantId::parse("acme").unwrap(),
            name: "crm-sync".into(),
            scopes,
            created_at: Utc::now(),
            revoked_at: None,
        };
        (key, minted)
    };
    let (reader, reader_secret) = mint(vec![Scope::AccountsRead]);
    let (crm_only, crm_secret) = mint(vec![Scope::CrmRead]);
    store
        .insert_api_key(&reader, &reader_secret.secret_hash)
        .await
        .unwrap();
    store
        .insert_api_key(&crm_only, &crm_secret.secret_hash)
        .await
        .unwrap();

    let mut client = AccountServiceClient::new(server.channel().await);
    let with_key = |key: &str| {
        let mut request = tonic::Request::new(pb::ListAccountsRequest::default());
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().unwrap());
        request
    };

    let page = client
        .list_accounts(with_key(&reader_secret.token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.accounts.len(), 1, "the key sees its tenant's accounts");

    let err = client
        .list_accounts(with_key(&crm_secret.token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "PERMISSION_DENIED");

    let tampered = format!("{}x", &reader_secret.token[..reader_secret.token.len() - 1]);
    let err = client.list_accounts(with_key(&tampered)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    store.revoke_api_key(&reader.id, Utc::now()).await.unwrap();
    let err = client
        .list_accounts(with_key(&reader_secret.token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // The secret itself is never stored: only its hash is.
    let stored = store.find_api_key(&reader.id).await.unwrap().unwrap();
    assert_eq!(stored.1, reader_secret.secret_hash);
    server.stop().await;
}

#[tokio::test]
async fn every_service_needs_credentials_and_a_disabled_sandbox_says_so() {
    let server = TestServer::start().await;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let err = crm
        .list_links(pb::ListLinksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut media = MediaServiceClient::new(server.channel().await);
    let err = media
        .create_upload(pb::CreateUploadRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    server.stop().await;

    let server = TestServer::start_with(|c| {
        c.sandbox.enabled = Some(false);
        c.telegram.api_id = Some(12345);
        c.telegram.api_hash = Some("not-a-real-hash".into());
    })
    .await;
    let mut sandbox = SandboxServiceClient::new(server.channel().await);
    let err = sandbox
        .list_sandbox_users(authed(
            pb::ListSandboxUsersRequest::default(),
            &server.token("acme"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "SANDBOX_DISABLED");
    server.stop().await;
}

#[tokio::test]
async fn callers_over_their_rate_are_told_when_to_retry() {
    let server = TestServer::start_with(|c| {
        c.rate_limit.per_principal_per_second = 1;
        c.rate_limit.per_principal_burst = 3;
    })
    .await;
    let mut client = AccountServiceClient::new(server.channel().await);
    let token = server.token("acme");
    let mut limited = None;
    // Bounded: the burst is 3, so one of the first 10 calls must be refused.
    for _ in 0..10 {
        if let Err(err) = list(&mut client, &token, 0, "").await {
            limited = Some(err);
            break;
        }
    }
    let err = limited.expect("a call beyond the burst is refused");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(reason(&err), "RATE_LIMITED");
    let retry = err.get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.unwrap() >= Duration::from_secs(1));

    // Another principal is not affected.
    list(&mut client, &server.token("globex"), 0, "")
        .await
        .unwrap();
    server.stop().await;
}

/// http1 sends one raw HTTP/1.1 request and reads the whole response.
pub async fn http1(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("response within 10s")
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http response head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    (head, response[split + 4..].to_vec())
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[tokio::test]
async fn grpc_web_over_http1_lists_accounts() {
    let server = TestServer::start().await;
    server
        .store()
        .await
        .insert_account(&account("acme", "Acme"))
        .await
        .unwrap();
    let message = pb::ListAccountsRequest {
        page_size: 10,
        page_token: String::new(),
    }
    .encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let head = format!(
        "POST /tez.telegram.v1.AccountService/ListAccounts HTTP/1.1\r\nhost: localhost\r\n\
         content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\norigin: http://app.example\r\n\
         authorization: Bearer {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        server.token("acme"),
        framed.len()
    );
    let (head, body) = http1(server.grpc_addr(), &head, &framed).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase().contains("access-control-allow-origin"),
        "{head}"
    );
    let body = if head.to_lowercase().contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        body
    };
    // A data frame with the response, then a trailer frame with grpc-status 0.
    assert_eq!(body[0], 0, "data frame first");
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let response = pb::ListAccountsResponse::decode(&body[5..5 + len]).unwrap();
    assert_eq!(response.accounts.len(), 1);
    let trailer = &body[5 + len..];
    assert_eq!(trailer[0], 0x80, "trailer frame");
    let trailers = String::from_utf8_lossy(&trailer[5..]).to_lowercase();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    // Without a token, grpc-web callers get UNAUTHENTICATED too.
    let head = format!(
        "POST /tez.telegram.v1.AccountService/ListAccounts HTTP/1.1\r\nhost: localhost\r\n\
         content-type: application/grpc-web+proto\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        framed.len()
    );
    let (head, _) = http1(server.grpc_addr(), &head, &framed).await;
    assert!(head.contains("grpc-status: 16"), "{head}");

    // Browsers' CORS preflight is answered.
    let (head, _) = http1(
        server.grpc_addr(),
        "OPTIONS /tez.telegram.v1.AccountService/ListAccounts HTTP/1.1\r\nhost: localhost\r\n\
         origin: http://app.example\r\naccess-control-request-method: POST\r\n\
         access-control-request-headers: authorization,content-type,x-grpc-web\r\n\
         connection: close\r\n\r\n",
        b"",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase().contains("access-control-allow-headers"),
        "{head}"
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_rpcs_by_method_and_code() {
    let server = TestServer::start().await;
    let mut client = AccountServiceClient::new(server.channel().await);
    list(&mut client, &server.token("acme"), 0, "")
        .await
        .unwrap();
    list(&mut client, &server.token("acme"), -5, "")
        .await
        .unwrap_err();
    let (head, body) = http1(
        server.metrics_addr(),
        "GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let text = String::from_utf8_lossy(&body);
    let has = |needle: &str| {
        text.lines()
            .any(|l| l.contains(needle) && !l.starts_with('#'))
    };
    assert!(
        has(r#"code="OK",method="/tez.telegram.v1.AccountService/ListAccounts"} 1"#),
        "{text}"
    );
    assert!(
        has(r#"code="INVALID_ARGUMENT",method="/tez.telegram.v1.AccountService/ListAccounts"} 1"#),
        "{text}"
    );
    assert!(has("tezgram_database_up 1"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_every_v1_service_on_v1_and_v1alpha() {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1 as r1;
    use tonic_reflection::pb::v1alpha as r1a;

    let server = TestServer::start().await;
    let request = r1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(r1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut client =
        r1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.next().await.unwrap().unwrap();
    let Some(r1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for service in tezgram::api::SERVICE_NAMES {
        assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
    }

    let request = r1a::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            r1a::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut client =
        r1a::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.next().await.unwrap().is_ok());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_is_graceful_and_releases_the_port() {
    let server = TestServer::start().await;
    let addr = server.grpc_addr();
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn each_peer_ip_is_rate_limited_even_before_authentication() {
    let server = TestServer::start_with(|c| {
        c.rate_limit.per_ip_per_second = 1;
        c.rate_limit.per_ip_burst = 3;
    })
    .await;
    let mut health = HealthClient::new(server.channel().await);
    let mut limited = None;
    // Bounded: the burst is 3, so one of the first 10 calls must be refused.
    for _ in 0..10 {
        let request = tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        };
        if let Err(err) = health.check(request).await {
            limited = Some(err);
            break;
        }
    }
    let err = limited.expect("a call beyond the per-ip burst is refused");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(reason(&err), "RATE_LIMITED");
    assert!(err.get_details_retry_info().is_some());
    // Unauthenticated calls count against the same IP budget.
    let mut accounts = AccountServiceClient::new(server.channel().await);
    let err = accounts
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    server.stop().await;
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let server =
        TestServer::start_with(|c| c.cors_allowed_origins = vec!["http://crm.example".into()])
            .await;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /tez.telegram.v1.AccountService/ListAccounts HTTP/1.1\r\nhost: localhost\r\n\
             origin: {origin}\r\naccess-control-request-method: POST\r\n\
             access-control-request-headers: authorization,content-type,x-grpc-web\r\n\
             connection: close\r\n\r\n"
        )
    };
    let (allowed, _) = http1(server.grpc_addr(), &preflight("http://crm.example"), b"").await;
    assert!(
        allowed
            .to_lowercase()
            .contains("access-control-allow-origin: http://crm.example"),
        "{allowed}"
    );
    let (refused, _) = http1(server.grpc_addr(), &preflight("http://evil.example"), b"").await;
    assert!(
        !refused
            .to_lowercase()
            .contains("access-control-allow-origin"),
        "{refused}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_inbox_page_is_served_on_its_own_address_when_configured() {
    let off = TestServer::start().await;
    assert_eq!(off.inbox_addr(), None, "not served unless configured");
    off.stop().await;

    let server =
        TestServer::start_with(|c| c.inbox_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let addr = server.inbox_addr().expect("the inbox is served");
    assert_ne!(addr, server.grpc_addr());
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    let (head, body) = http1(addr, &get("/"), b"").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase().contains("content-type: text/html"),
        "{head}"
    );
    assert_eq!(
        body,
        std::fs::read("sdk/typescript/inbox/dist/index.html").unwrap(),
        "the committed build of the page"
    );
    let (head, body) = http1(addr, &get("/inbox.js"), b"").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: text/javascript"),
        "{head}"
    );
    assert_eq!(
        body,
        std::fs::read("sdk/typescript/inbox/dist/inbox.js").unwrap()
    );
    let (head, _) = http1(addr, &get("/secrets"), b"").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    server.stop().await;
}
