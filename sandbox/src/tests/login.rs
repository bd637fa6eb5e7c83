//! Logging in to the sandbox DC with the real grammers 0.11 client, the way
//! the gateway will: code login through raw `auth.sendCode`/`auth.signIn`,
//! 2FA with SRP, bot tokens, QR login between two devices, the device list
//! and terminating a device, injected FLOOD_WAIT, unknown methods, and a
//! restart that keeps every session logged in.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use crate::DC_ID;
use crate::dc::{SandboxDc, SandboxDcHandle, SandboxDcOptions};
use crate::network::{Fault, FaultTarget, NewUser, TwoFactor};
use grammers_client::Client;
use grammers_client::InvocationError;
use grammers_client::sender::{ConnectionParams, NoRetries, SenderPool, UpdatesConfiguration};
use grammers_client::session::SessionData;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::DcOption;
use grammers_client::session::updates::UpdatesLike;
use grammers_client::tl;
use grammers_client::update::Update;
use rand::RngCore;
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const API_ID: i32 = 12345;
const API_HASH: &str = "0123456789abcdef0123456789abcdef";

async fn start(data_dir: Option<std::path::PathBuf>) -> SandboxDcHandle {
    SandboxDc::start(SandboxDcOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir,
        max_difference: None,
        detect_duplicate_keys: true,
    })
    .await
    .expect("sandbox dc starts")
}

fn random_key() -> [u8; 256] {
    let mut key = [0u8; 256];
    rand::rng().fill_bytes(&mut key);
    key
}

/// A grammers client (no retries, so errors like FLOOD_WAIT surface) whose
/// session holds `key` and has the sandbox as its home DC.
struct Device {
    client: Client,
    auth_key_id: i64,
    updates: Option<mpsc::Receiver<UpdatesLike>>,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for Device {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

impl Device {
    /// new registers a fresh key with the sandbox and connects with it.
    fn new(dc: &SandboxDcHandle, model: &str) -> Device {
        let key = random_key();
        let auth_key_id = dc.register_key(key, None);
        Device::with_key(dc, key, auth_key_id, model)
    }

    fn with_key(dc: &SandboxDcHandle, key: [u8; 256], auth_key_id: i64, model: &str) -> Device {
        let SocketAddr::V4(ipv4) = dc.addr() else {
            panic!("the sandbox listens on IPv4 loopback");
        };
        let option = DcOption {
            id: DC_ID,
            ipv4,
            ipv6: SocketAddrV6::new(ipv4.ip().to_ipv6_mapped(), ipv4.port(), 0, 0),
            auth_key: Some(key),
        };
        let session = MemorySession::from(SessionData {
            home_dc: DC_ID,
            dc_options: HashMap::from([(DC_ID, option)]),
            ..SessionData::default()
        });
        let params = ConnectionParams {
            device_model: model.into(),
            retry_policy: Box::new(NoRetries),
            ..ConnectionParams::default()
        };
        let pool = SenderPool::with_configuration(Arc::new(session), API_ID, params);
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        Device {
            client,
            auth_key_id,
            updates: Some(pool.updates),
            runner,
        }
    }

    async fn invoke<R: tl::RemoteCall>(&self, request: &R) -> Result<R::Return, InvocationError> {
        timeout(WAIT, self.client.invoke(request))
            .await
            .expect("the sandbox answered in time")
    }

    async fn send_code(&self, phone: &str) -> Result<String, InvocationError> {
        let sent = self
            .invoke(&tl::functions::auth::SendCode {
                phone_number: phone.into(),
                api_id: API_ID,
                api_hash: API_HASH.into(),
                settings: tl::enums::CodeSettings::Settings(tl::types::CodeSettings {
                    allow_flashcall: false,
                    current_number: false,
                    allow_app_hash: false,
                    allow_missed_call: false,
                    allow_firebase: false,
                    unknown_number: false,
                    logout_tokens: None,
                    token: None,
                    app_sandbox: None,
                }),
            })
            .await?;
        let tl::enums::auth::SentCode::Code(sent) = sent else {
            panic!("expected auth.sentCode, got {sent:?}");
        };
        let tl::enums::auth::SentCodeType::App(app) = &sent.r#type else {
            panic!("expected a code sent to the app, got {:?}", sent.r#type);
        };
        assert_eq!(app.length, 5);
        Ok(sent.phone_code_hash)
    }

    async fn sign_in(
        &self,
        phone: &str,
        hash: &str,
        code: &str,
    ) -> Result<tl::types::User, InvocationError> {
        let authorization = self
            .invoke(&tl::functions::auth::SignIn {
                phone_number: phone.into(),
                phone_code_hash: hash.into(),
                phone_code: Some(code.into()),
                email_verification: None,
            })
            .await?;
        Ok(authorized_user(authorization))
    }

    /// log_in logs in with the sandbox's code for the number (its DC digit
    /// five times).
    async fn log_in(&self, phone: &str) -> tl::types::User {
        let hash = self.send_code(phone).await.unwrap();
        let code = phone[5..6].repeat(5);
        self.sign_in(phone, &hash, &code).await.unwrap()
    }

    async fn get_state(&self) -> Result<tl::types::updates::State, InvocationError> {
        let tl::enums::updates::State::State(state) =
            self.invoke(&tl::functions::updates::GetState {}).await?;
        Ok(state)
    }

    async fn get_password(&self) -> tl::types::account::Password {
        let tl::enums::account::Password::Password(password) = self
            .invoke(&tl::functions::account::GetPassword {})
            .await
            .unwrap();
        password
    }

    /// check_password answers the current SRP challenge exactly as
    /// grammers' `Client::check_password` does.
    async fn check_password(&self, password: &str) -> Result<tl::types::User, InvocationError> {
        let info = self.get_password().await;
        assert!(info.has_password);
        let Some(tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
            algo,
        )) = info.current_algo.clone()
        else {
            panic!("expected the SRP algorithm, got {:?}", info.current_algo);
        };
        let g_b = info.srp_b.clone().expect("srp_B is offered");
        let a = info.secure_random.clone();
        let password = password.to_owned();
        let (m1, g_a) = tokio::task::spawn_blocking(move || {
            grammers_crypto::two_factor_auth::calculate_2fa(
                &algo.salt1,
                &algo.salt2,
                &algo.p,
                &algo.g,
                g_b,
                a,
                password,
            )
        })
        .await
        .unwrap();
        let authorization = self
            .invoke(&tl::functions::auth::CheckPassword {
                password: tl::enums::InputCheckPasswordSrp::Srp(tl::types::InputCheckPasswordSrp {
                    srp_id: info.srp_id.expect("srp_id is offered"),
                    a: g_a.to_vec(),
                    m1: m1.to_vec(),
                }),
            })
            .await?;
        Ok(authorized_user(authorization))
    }

    async fn export_login_token(&self) -> tl::enums::auth::LoginToken {
        self.invoke(&tl::functions::auth::ExportLoginToken {
            api_id: API_ID,
            api_hash: API_HASH.into(),
            except_ids: Vec::new(),
        })
        .await
        .unwrap()
    }
}

fn authorized_user(authorization: tl::enums::auth::Authorization) -> tl::types::User {
    let tl::enums::auth::Authorization::Authorization(authorization) = authorization else {
        panic!("expected auth.authorization, got {authorization:?}");
    };
    let tl::enums::User::User(user) = authorization.user else {
        panic!("expected a full user");
    };
    user
}

/// rpc_error is the Telegram error a call failed with.
fn rpc_error<T: std::fmt::Debug>(result: Result<T, InvocationError>) -> (i32, String, Option<u32>) {
    match result {
        Err(InvocationError::Rpc(rpc)) => (rpc.code, rpc.name, rpc.value),
        other => panic!("expected an rpc error, got {other:?}"),
    }
}

fn unregistered() -> (i32, String, Option<u32>) {
    (401, "AUTH_KEY_UNREGISTERED".into(), None)
}

#[tokio::test]
async fn phone_login_with_a_code_then_the_account_works() {
    let dc = start(None).await;
    let device = Device::new(&dc, "login-test");
    let phone = "9996621234";

    // Not logged in yet: user methods are refused, auth.* work.
    assert_eq!(rpc_error(device.get_state().await), unregistered());
    let hash = device.send_code(phone).await.unwrap();

    let wrong = device.sign_in(phone, &hash, "12345").await;
    assert_eq!(rpc_error(wrong), (400, "PHONE_CODE_INVALID".into(), None));
    assert_eq!(rpc_error(device.get_state().await), unregistered());

    let user = device.sign_in(phone, &hash, "22222").await.unwrap();
    assert!(user.is_self);
    assert_eq!(user.phone.as_deref(), Some(phone));
    assert!(user.access_hash.is_some());
    device.get_state().await.unwrap();

    let me = timeout(WAIT, device.client.get_me())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.id().bare_id(), Some(user.id));
    assert_eq!(me.phone(), Some(phone));

    let tl::enums::users::UserFull::Full(full) = device
        .invoke(&tl::functions::users::GetFullUser {
            id: tl::enums::InputUser::UserSelf,
        })
        .await
        .unwrap();
    let tl::enums::UserFull::Full(full_user) = &full.full_user;
    assert_eq!(full_user.id, user.id);
    assert_eq!(full.users.len(), 1);

    // Another user is found by id and access hash, without their phone
    // (not a contact); a wrong hash finds nobody.
    let other = dc
        .network()
        .create_user(NewUser {
            phone: "9996625555".into(),
            first_name: "Other".into(),
            username: Some("other_user".into()),
            ..NewUser::default()
        })
        .unwrap();
    let found = device
        .invoke(&tl::functions::users::GetUsers {
            id: vec![
                tl::enums::InputUser::User(tl::types::InputUser {
                    user_id: other.id,
                    access_hash: other.access_hash,
                }),
                tl::enums::InputUser::User(tl::types::InputUser {
                    user_id: other.id,
                    access_hash: other.access_hash ^ 1,
                }),
            ],
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let tl::enums::User::User(found) = &found[0] else {
        panic!("expected a full user");
    };
    assert_eq!(found.id, other.id);
    assert!(!found.is_self && !found.contact);
    assert_eq!(found.phone, None);
    assert_eq!(found.username.as_deref(), Some("other_user"));

    // Without 2FA, account.getPassword says so and still offers a fresh
    // secret for setting one.
    let password = device.get_password().await;
    assert!(!password.has_password);
    assert!(password.current_algo.is_none());
    assert_eq!(password.secure_random.len(), 256);

    // Logging out makes the key a stranger again.
    let tl::enums::auth::LoggedOut::Out(_) = device
        .invoke(&tl::functions::auth::LogOut {})
        .await
        .unwrap();
    assert_eq!(rpc_error(device.get_state().await), unregistered());
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn two_factor_login_checks_the_srp_proof() {
    let dc = start(None).await;
    let phone = "9996627001";
    let two_factor =
        tokio::task::spawn_blocking(|| TwoFactor::derive("correct horse", Some("horse".into())))
            .await
            .unwrap();
    dc.network()
        .create_user(NewUser {
            phone: phone.into(),
            first_name: "Careful".into(),
            password: Some(two_factor),
            ..NewUser::default()
        })
        .unwrap();
    let device = Device::new(&dc, "2fa-test");

    let hash = device.send_code(phone).await.unwrap();
    let needed = device.sign_in(phone, &hash, "22222").await;
    assert_eq!(
        rpc_error(needed),
        (401, "SESSION_PASSWORD_NEEDED".into(), None)
    );
    assert_eq!(rpc_error(device.get_state().await), unregistered());

    let info = device.get_password().await;
    assert_eq!(info.hint.as_deref(), Some("horse"));
    assert_eq!(info.srp_b.as_ref().map(Vec::len), Some(256));

    let wrong = device.check_password("battery staple").await;
    assert_eq!(
        rpc_error(wrong),
        (400, "PASSWORD_HASH_INVALID".into(), None)
    );
    assert_eq!(rpc_error(device.get_state().await), unregistered());

    let user = device.check_password("correct horse").await.unwrap();
    assert!(user.is_self);
    assert_eq!(user.phone.as_deref(), Some(phone));
    device.get_state().await.unwrap();
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn bot_logs_in_with_its_token() {
    let dc = start(None).await;
    let (bot, token) = dc
        .network()
        .create_bot("Sandbox Bot", "sandbox_bot", None)
        .unwrap();
    let device = Device::new(&dc, "bot-test");

    let wrong = device
        .invoke(&tl::functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: API_ID,
            api_hash: API_HASH.into(),
            bot_auth_token: format!("{}:wrong", bot.id),
        })
        .await;
    assert_eq!(rpc_error(wrong), (400, "ACCESS_TOKEN_INVALID".into(), None));

    let authorization = device
        .invoke(&tl::functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: API_ID,
            api_hash: API_HASH.into(),
            bot_auth_token: token,
        })
        .await
        .unwrap();
    let user = authorized_user(authorization);
    assert!(user.bot && user.is_self);
    assert_eq!(user.id, bot.id);
    assert_eq!(user.username.as_deref(), Some("sandbox_bot"));
    assert_eq!(user.phone, None);

    let me = timeout(WAIT, device.client.get_me())
        .await
        .unwrap()
        .unwrap();
    assert!(me.is_bot());
    assert_eq!(me.id().bare_id(), Some(bot.id));
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn qr_login_then_the_device_list_and_terminating_a_device() {
    let dc = start(None).await;
    let phone = "9996623456";
    let phone_device = Device::new(&dc, "phone");
    let user = phone_device.log_in(phone).await;

    // The new device shows a QR token and listens for updates.
    let mut desktop = Device::new(&dc, "desktop");
    let mut updates = desktop
        .client
        .stream_updates(
            desktop.updates.take().unwrap(),
            UpdatesConfiguration::default(),
        )
        .await
        .unwrap();
    let tl::enums::auth::LoginToken::Token(token) = desktop.export_login_token().await else {
        panic!("expected a login token before it is accepted");
    };
    assert!(i64::from(token.expires) > chrono::Utc::now().timestamp());

    // The logged-in phone scans it.
    let tl::enums::Authorization::Authorization(accepted) = phone_device
        .invoke(&tl::functions::auth::AcceptLoginToken {
            token: token.token.clone(),
        })
        .await
        .unwrap();
    assert_eq!(accepted.device_model, "desktop");
    assert_eq!(accepted.api_id, API_ID);

    // A token answers once.
    let again = phone_device
        .invoke(&tl::functions::auth::AcceptLoginToken {
            token: token.token.clone(),
        })
        .await;
    assert_eq!(
        rpc_error(again),
        (400, "AUTH_TOKEN_ALREADY_ACCEPTED".into(), None)
    );

    // The desktop is told, asks again, and is logged in as the phone's user.
    let update = timeout(WAIT, updates.next())
        .await
        .expect("updateLoginToken in time")
        .unwrap();
    let Update::Raw(raw) = update else {
        panic!("expected a raw update");
    };
    assert!(matches!(raw.raw, tl::enums::Update::LoginToken));
    drop(updates);
    let tl::enums::auth::LoginToken::Success(success) = desktop.export_login_token().await else {
        panic!("expected loginTokenSuccess after the token was accepted");
    };
    assert_eq!(authorized_user(success.authorization).id, user.id);
    desktop.get_state().await.unwrap();

    // The phone sees both devices, itself first.
    let tl::enums::account::Authorizations::Authorizations(list) = phone_device
        .invoke(&tl::functions::account::GetAuthorizations {})
        .await
        .unwrap();
    let devices: Vec<(bool, String)> = list
        .authorizations
        .iter()
        .map(|tl::enums::Authorization::Authorization(a)| (a.current, a.device_model.clone()))
        .collect();
    assert_eq!(
        devices,
        vec![(true, "phone".to_owned()), (false, "desktop".to_owned())]
    );
    let tl::enums::Authorization::Authorization(desktop_auth) = &list.authorizations[1];

    // Terminating the desktop logs it out; the phone keeps working.
    assert!(
        phone_device
            .invoke(&tl::functions::account::ResetAuthorization {
                hash: desktop_auth.hash,
            })
            .await
            .unwrap()
    );
    assert_eq!(rpc_error(desktop.get_state().await), unregistered());
    phone_device.get_state().await.unwrap();
    let unknown = phone_device
        .invoke(&tl::functions::account::ResetAuthorization {
            hash: desktop_auth.hash,
        })
        .await;
    assert_eq!(rpc_error(unknown), (400, "HASH_INVALID".into(), None));
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn injected_flood_wait_and_unknown_methods_answer_like_telegram() {
    let dc = start(None).await;
    let device = Device::new(&dc, "faults");
    dc.network().inject_fault(
        FaultTarget::AuthKey(device.auth_key_id),
        "auth.sendCode",
        Fault::FloodWait { seconds: 7 },
        1,
    );
    let flooded = device.send_code("9996621111").await;
    assert_eq!(rpc_error(flooded), (420, "FLOOD_WAIT".into(), Some(7)));
    // The fault was for one call.
    device.send_code("9996621111").await.unwrap();

    let unknown = device.invoke(&tl::functions::help::GetCdnConfig {}).await;
    assert_eq!(
        rpc_error(unknown),
        (
            400,
            "INPUT_METHOD_INVALID".into(),
            Some(<tl::functions::help::GetCdnConfig as tl::Identifiable>::CONSTRUCTOR_ID)
        )
    );
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn sessions_survive_a_restart_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let key = random_key();
    let user = {
        let dc = start(Some(dir.path().to_owned())).await;
        let auth_key_id = dc.register_key(key, None);
        let device = Device::with_key(&dc, key, auth_key_id, "before restart");
        let user = device.log_in("9996628888").await;
        device.get_state().await.unwrap();
        drop(device);
        dc.shutdown().await.unwrap();
        user
    };
    assert!(dir.path().join("sandbox.json").exists());

    let dc = start(Some(dir.path().to_owned())).await;
    let auth_key_id = crate::mtproto::crypto::auth_key_id(&key);
    let device = Device::with_key(&dc, key, auth_key_id, "after restart");
    device.get_state().await.unwrap();
    let me = timeout(WAIT, device.client.get_me())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.id().bare_id(), Some(user.id));
    dc.shutdown().await.unwrap();
}
