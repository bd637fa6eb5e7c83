//! Connecting Telegram accounts end to end, through the real gRPC server,
//! its in-process sandbox DC and real MTProto (grammers): phone + code,
//! 2FA, bots, QR, restarts, revocations, flood waits, devices, log-out and
//! deletion.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use tezgram::domain::TenantId;
use tezgram::domain::event::EventPayload;
use tezgram::domain::ports::EventLog;
use tezgram_sdk::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::clients::{Clients, eventually, reason};
use crate::server::{TestServer, authed};

#[tokio::test]
async fn a_phone_login_with_code_authorizes_the_account() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let user = c.sandbox_user("9996621234", "Ann", "").await;
    assert_eq!(user.login_code, "22222");

    let account = c.start_login("+999 662 1234").await.unwrap();
    assert_eq!(account.state(), pb::AccountState::LoginCodeRequired);
    assert_eq!(account.phone_number, "9996621234");

    let err = c
        .submit_code(&account.account_id, "11111")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_CODE");
    assert_eq!(
        err.get_details_bad_request().unwrap().field_violations[0].field,
        "code"
    );
    assert_eq!(
        c.get(&account.account_id).await.state(),
        pb::AccountState::LoginCodeRequired
    );

    let authorized = c.submit_code(&account.account_id, "22222").await.unwrap();
    assert_eq!(authorized.state(), pb::AccountState::Authorized);
    assert_eq!(authorized.telegram_user_id, user.user_id);
    assert_eq!(authorized.display_name, "Ann Lee");
    assert_eq!(
        c.get(&account.account_id).await.state(),
        pb::AccountState::Authorized
    );
    eventually("the account holds one live connection", async || {
        server.connected(user.user_id) && server.metric("tezgram_connected_accounts").await == 1.0
    })
    .await;
    // And it receives what Telegram pushes: a customer's message arrives.
    let customer = c.sandbox_user("9996631234", "Cus", "Tomer").await;
    let received = "tezgram_telegram_updates_total{kind=\"new_message\"}";
    assert_eq!(server.metric(received).await, 0.0);
    c.send_as(&customer, &account.account_id, "hello").await;
    eventually("the pushed message reached the account", async || {
        server.metric(received).await == 1.0
    })
    .await;

    // A second StartLogin for a connected phone creates nothing: it names
    // the account that has it.
    let err = c.start_login("9996621234").await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let info = err.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "ALREADY_EXISTS");
    assert_eq!(info.metadata["account_id"], account.account_id);
    assert_eq!(c.list().await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_login_input_is_refused_and_writes_nothing() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let err = c.start_login("12ab").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_details_bad_request().unwrap().field_violations[0].field,
        "phone_number"
    );

    // Telegram refuses a number that is not a sandbox one: nothing is kept.
    let err = c.start_login("+15550001111").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_PHONE_NUMBER");
    let listed = c
        .accounts
        .list_accounts(authed(pb::ListAccountsRequest::default(), &c.token))
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.accounts.is_empty(),
        "a refused login leaves no account"
    );

    let err = c.submit_code("not-a-uuid", "1").await.unwrap_err();
    let fields: Vec<_> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["account_id", "code"]);
    server.stop().await;
}

#[tokio::test]
async fn two_step_verification_needs_the_right_password() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let user = c.sandbox_user("9996631111", "Ann", "hunter2").await;
    assert!(user.has_password);
    let account = c.start_login("9996631111").await.unwrap();
    let waiting = c.submit_code(&account.account_id, "33333").await.unwrap();
    assert_eq!(waiting.state(), pb::AccountState::PasswordRequired);
    assert_eq!(waiting.password_hint, "pet");

    let err = c
        .submit_password(&account.account_id, "hunter3")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_PASSWORD");
    assert_eq!(
        err.get_details_bad_request().unwrap().field_violations[0].field,
        "password"
    );

    let authorized = c
        .submit_password(&account.account_id, "hunter2")
        .await
        .unwrap();
    assert_eq!(authorized.state(), pb::AccountState::Authorized);
    assert_eq!(authorized.password_hint, "");
    server.stop().await;
}

#[tokio::test]
async fn a_bot_logs_in_with_its_token() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let bot = c.sandbox_bot("Helper", "helper_bot").await;
    assert!(!bot.bot_token.is_empty());
    let account = c
        .start_bot_login(&bot.bot_token, "bot-login-1")
        .await
        .unwrap();
    assert_eq!(account.state(), pb::AccountState::Authorized);
    assert_eq!(account.kind(), pb::AccountKind::Bot);
    assert_eq!(account.telegram_user_id, bot.user_id);
    assert_eq!(account.username, "helper_bot");

    let err = c
        .start_bot_login("123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INVALID_BOT_TOKEN");
    server.stop().await;
}

#[tokio::test]
async fn a_qr_login_is_accepted_from_the_users_other_device() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let user = c.sandbox_user("9996614444", "Ann", "").await;
    let mut stream = c
        .accounts
        .start_qr_login(authed(
            pb::StartQrLoginRequest {
                request_id: String::new(),
            },
            &c.token,
        ))
        .await
        .unwrap()
        .into_inner();
    let next = async |stream: &mut tonic::Streaming<pb::StartQrLoginResponse>| {
        tokio::time::timeout(Duration::from_secs(15), stream.message())
            .await
            .expect("a qr event within 15s")
            .unwrap()
            .expect("the stream goes on")
            .event
            .unwrap()
    };
    let pb::start_qr_login_response::Event::QrCode(code) = next(&mut stream).await else {
        panic!("a qr code comes first");
    };
    assert!(
        code.qr_url.starts_with("tg://login?token="),
        "{}",
        code.qr_url
    );

    c.sandbox
        .accept_qr_login(authed(
            pb::AcceptQrLoginRequest {
                sandbox_user: Some(pb::SandboxUserRef {
                    user: Some(pb::sandbox_user_ref::User::UserId(user.user_id)),
                }),
                qr_url: code.qr_url.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap();
    let account = loop {
        match next(&mut stream).await {
            pb::start_qr_login_response::Event::Account(account) => break account,
            pb::start_qr_login_response::Event::QrCode(_) => continue,
        }
    };
    assert_eq!(account.state(), pb::AccountState::Authorized);
    assert_eq!(account.telegram_user_id, user.user_id);

    // The account's devices: the gateway's session first, then the user's phone.
    let devices = c.devices(&account.account_id).await;
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(devices[0].current);
    let phone = devices.iter().find(|d| !d.current).unwrap();
    assert_eq!(phone.device_model, "Sandbox phone");
    c.accounts
        .terminate_authorization(authed(
            pb::TerminateAuthorizationRequest {
                account_id: account.account_id.clone(),
                authorization_hash: phone.authorization_hash,
            },
            &c.token,
        ))
        .await
        .unwrap();
    let devices = c.devices(&account.account_id).await;
    assert_eq!(devices.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_gateway_keeps_the_account_authorized() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let account = c.login("9996625555").await;
    assert_eq!(account.state(), pb::AccountState::Authorized);
    let (data_dir, database_url) = (
        server.config.data_dir.clone(),
        server.config.database_url.clone(),
    );
    let kept = server.stop_keeping_data().await;

    let restarted = TestServer::start_on(kept, |config| {
        config.data_dir = data_dir.clone();
        config.database_url = database_url.clone();
    })
    .await;
    eventually("the account is connected again after restart", async || {
        restarted.connected(account.telegram_user_id)
    })
    .await;
    let mut c = Clients::of(&restarted).await;
    assert_eq!(
        c.get(&account.account_id).await.state(),
        pb::AccountState::Authorized
    );
    // Its session works without a new login.
    let devices = c.devices(&account.account_id).await;
    assert_eq!(devices.len(), 1);
    restarted.stop().await;
}

#[tokio::test]
async fn a_revoked_session_turns_the_account_reauth_required_with_an_event() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let account = c.login("9996626666").await;
    let user = account.telegram_user_id;
    eventually("the account is connected", async || server.connected(user)).await;
    c.inject_fault(
        &account.account_id,
        "",
        pb::inject_fault_request::Fault::SessionRevoked(pb::SessionRevoked {}),
    )
    .await;
    let id = account.account_id.clone();
    eventually("the account turns REAUTH_REQUIRED", async || {
        c.get(&id).await.state() == pb::AccountState::ReauthRequired
    })
    .await;
    eventually("its connection is closed", async || {
        server.live_sessions(user).is_empty()
    })
    .await;

    let events = server
        .store()
        .await
        .events_after(&TenantId::parse("acme").unwrap(), 0, 100)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.account.map(|a| a.to_string()) == Some(id.clone())
                && matches!(&e.payload, EventPayload::AccountStateChanged { state, .. }
                if *state == tezgram::domain::AccountState::ReauthRequired)),
        "{events:?}"
    );
    // Calls that need the session say so.
    let err = c
        .accounts
        .list_authorizations(authed(
            pb::ListAuthorizationsRequest {
                account_id: id.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "REAUTH_REQUIRED");

    // Logging in again brings it back.
    let again = c.start_login("9996626666").await.unwrap();
    assert_eq!(again.account_id, id);
    assert_eq!(
        c.submit_code(&id, "22222").await.unwrap().state(),
        pb::AccountState::Authorized
    );
    server.stop().await;
}

#[tokio::test]
async fn flood_wait_on_send_code_is_resource_exhausted_with_retry_info() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    c.sandbox_user("9996617777", "Ann", "").await;
    let account = c.start_login("9996617777").await.unwrap();
    c.inject_fault(
        &account.account_id,
        "auth.sendCode",
        pb::inject_fault_request::Fault::FloodWait(pb::FloodWait {
            seconds: 31,
            count: 1,
        }),
    )
    .await;
    let err = c.start_login("9996617777").await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(reason(&err), "FLOOD_WAIT");
    let retry = err.get_details_retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(31)));
    // The wait was for one call only; the login goes on.
    let resent = c.start_login("9996617777").await.unwrap();
    assert_eq!(resent.state(), pb::AccountState::LoginCodeRequired);
    assert_eq!(
        c.submit_code(&account.account_id, "11111")
            .await
            .unwrap()
            .state(),
        pb::AccountState::Authorized
    );
    server.stop().await;
}

#[tokio::test]
async fn the_database_holds_no_plaintext_auth_key() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let account = c.login("9996628888").await;
    let keys = server.sandbox().auth_keys();
    assert!(!keys.is_empty());
    let store = server.store().await;
    let row = store
        .connection()
        .query_one_raw(Statement::from_sql_and_values(
            store.connection().get_database_backend(),
            "SELECT session, login_state FROM accounts WHERE id = $1",
            [account.account_id.clone().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let session: Vec<u8> = row.try_get("", "session").unwrap();
    assert!(!session.is_empty());
    for key in keys {
        let hex = hex::encode(&key[..32]);
        assert!(
            !session.windows(32).any(|w| w == &key[..32]),
            "raw auth key bytes in the row"
        );
        assert!(
            !session.windows(hex.len()).any(|w| w == hex.as_bytes()),
            "hex auth key in the row"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn log_out_keeps_the_account_and_delete_erases_it() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let account = c.login("9996629999").await;
    let id = account.account_id.clone();
    let logged_out = c
        .accounts
        .log_out(authed(
            pb::LogOutRequest {
                account_id: id.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(logged_out.state(), pb::AccountState::LoggedOut);
    eventually("its connection is closed", async || {
        server.live_sessions(logged_out.telegram_user_id).is_empty()
    })
    .await;
    // The session is gone at Telegram too: the sandbox has no session for the user.
    let user = logged_out.telegram_user_id;
    assert!(server.sandbox().sessions_of(user).is_empty());

    let account = c.login("9996629999").await;
    assert_eq!(account.account_id, id, "the same account logs in again");
    c.accounts
        .delete_account(authed(
            pb::DeleteAccountRequest {
                account_id: id.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap();
    let err = c
        .accounts
        .get_account(authed(
            pb::GetAccountRequest {
                account_id: id.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(server.sandbox().sessions_of(user).is_empty());

    // Other tenants cannot touch an account: NOT_FOUND.
    let other = c.login("9996620000").await;
    let err = c
        .accounts
        .delete_account(authed(
            pb::DeleteAccountRequest {
                account_id: other.account_id.clone(),
            },
            &server.token("globex"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn a_fresh_session_caches_the_peers_of_existing_dialogs() {
    use std::sync::Arc;
    use tezgram::domain::AccountId;
    use tezgram::telegram::StoredSession;
    use tezgram::telegram::session::SessionOptions;

    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let account = c.login("9996612121").await;
    let customer = c.sandbox_user("9996613131", "Ann", "").await;
    c.sandbox
        .send_as_sandbox_user(authed(
            pb::SendAsSandboxUserRequest {
                sandbox_user: Some(pb::SandboxUserRef {
                    user: Some(pb::sandbox_user_ref::User::UserId(customer.user_id)),
                }),
                to_account_id: account.account_id.clone(),
                text: "hello from a customer".into(),
            },
            &c.token,
        ))
        .await
        .unwrap();
    // A new session (log out, log in again) knows no peers until it fetches dialogs.
    c.accounts
        .log_out(authed(
            pb::LogOutRequest {
                account_id: account.account_id.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap();
    let again = c.login("9996612121").await;
    assert_eq!(again.state(), pb::AccountState::Authorized);

    let sealer = tezgram::server::sealer(&server.config).await.unwrap();
    let id: AccountId = account.account_id.parse().unwrap();
    let store = Arc::new(server.store().await);
    eventually("the customer's peer is cached in the session", async || {
        let session =
            StoredSession::load(id, store.clone(), sealer.clone(), SessionOptions::default())
                .await
                .unwrap()
                .unwrap();
        let peers = session.snapshot().unwrap().peers;
        peers.keys().any(|p| p.bare_id() == Some(customer.user_id))
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_of_one_account_leaves_the_others_alone() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let a = c.login("9996615151").await;
    let b = c.login("9996616161").await;
    let both =
        async || server.connected(a.telegram_user_id) && server.connected(b.telegram_user_id);
    eventually("both accounts are connected", both).await;
    c.inject_fault(
        &a.account_id,
        "",
        pb::inject_fault_request::Fault::DropConnection(pb::DropConnection {}),
    )
    .await;
    // B never noticed; A reconnects and is still authorized and usable.
    assert_eq!(c.devices(&b.account_id).await.len(), 1);
    assert_eq!(c.devices(&a.account_id).await.len(), 1);
    eventually("both accounts are connected once", both).await;
    for id in [&a.account_id, &b.account_id] {
        assert_eq!(c.get(id).await.state(), pb::AccountState::Authorized);
    }
    server.stop().await;
}
