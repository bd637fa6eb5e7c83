//! Login through raw `invoke`: every step's state (the `phone_code_hash`)
//! is plain data the caller persists, so a login survives restarts and can
//! continue on another gateway instance — which grammers' `LoginToken`
//! (not persistable) cannot do.

use grammers_crypto::two_factor_auth::{calculate_2fa, check_p_and_g};
use grammers_session::Session;
use grammers_session::types::{PeerAuth, PeerInfo, UpdateState, UpdatesState};
use grammers_tl_types as tl;

use super::Error;
use super::connection::Link;
use crate::domain::login::{CodeSent, TelegramDevice, TelegramUser};

/// App is the Telegram application the gateway logs in as.
#[derive(Clone)]
pub struct App {
    pub api_id: i32,
    pub api_hash: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The api_hash is a credential.
        f.debug_struct("App")
            .field("api_id", &self.api_id)
            .finish_non_exhaustive()
    }
}

pub async fn send_code(conn: &Link, app: &App, phone: &str) -> Result<CodeSent, Error> {
    let sent = conn
        .invoke(&tl::functions::auth::SendCode {
            phone_number: phone.to_owned(),
            api_id: app.api_id,
            api_hash: app.api_hash.clone(),
            settings: tl::types::CodeSettings {
                allow_flashcall: false,
                current_number: false,
                allow_app_hash: false,
                allow_missed_call: false,
                allow_firebase: false,
                unknown_number: false,
                logout_tokens: None,
                token: None,
                app_sandbox: None,
            }
            .into(),
        })
        .await?;
    match sent {
        tl::enums::auth::SentCode::Code(code) => Ok(CodeSent::Code {
            phone_code_hash: code.phone_code_hash,
        }),
        tl::enums::auth::SentCode::Success(success) => Ok(CodeSent::SignedIn(
            complete(conn, success.authorization).await?,
        )),
        other => Err(Error::Client(format!(
            "unexpected answer to auth.sendCode: {other:?}"
        ))),
    }
}

/// sign_in submits the code; `Error::PasswordRequired` when 2FA is on.
pub async fn sign_in(
    conn: &Link,
    phone: &str,
    phone_code_hash: &str,
    code: &str,
) -> Result<TelegramUser, Error> {
    let authorization = conn
        .invoke(&tl::functions::auth::SignIn {
            phone_number: phone.to_owned(),
            phone_code_hash: phone_code_hash.to_owned(),
            phone_code: Some(code.to_owned()),
            email_verification: None,
        })
        .await?;
    complete(conn, authorization).await
}

/// password_hint is the hint of the account's two-step verification password.
pub async fn password_hint(conn: &Link) -> Result<Option<String>, Error> {
    let tl::enums::account::Password::Password(password) =
        conn.invoke(&tl::functions::account::GetPassword {}).await?;
    Ok(password.hint.filter(|h| !h.is_empty()))
}

/// check_password proves the password with SRP; it never leaves the gateway.
pub async fn check_password(conn: &Link, password: &str) -> Result<TelegramUser, Error> {
    let tl::enums::account::Password::Password(info) =
        conn.invoke(&tl::functions::account::GetPassword {}).await?;
    let algo = match info.current_algo {
        Some(tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
            algo,
        )) => algo,
        Some(other) => {
            return Err(Error::Client(format!(
                "unsupported password algorithm {other:?}"
            )));
        }
        None => return Err(Error::Client("the account has no password".into())),
    };
    let (Some(srp_b), Some(srp_id)) = (info.srp_b, info.srp_id) else {
        return Err(Error::Client(
            "account.getPassword without SRP parameters".into(),
        ));
    };
    if !check_p_and_g(&algo.p, &algo.g) {
        return Err(Error::Client(
            "telegram offered unsafe SRP parameters".into(),
        ));
    }
    let password = zeroize::Zeroizing::new(password.as_bytes().to_vec());
    let a = info.secure_random;
    // PBKDF2 with 100 000 iterations: keep it off the async workers.
    let (m1, g_a) = tokio::task::spawn_blocking(move || {
        calculate_2fa(
            &algo.salt1,
            &algo.salt2,
            &algo.p,
            &algo.g,
            srp_b,
            a,
            password.as_slice(),
        )
    })
    .await
    .map_err(|err| Error::Client(format!("srp computation failed: {err}")))?;
    let authorization = conn
        .invoke(&tl::functions::auth::CheckPassword {
            password: tl::types::InputCheckPasswordSrp {
                srp_id,
                a: g_a.to_vec(),
                m1: m1.to_vec(),
            }
            .into(),
        })
        .await?;
    complete(conn, authorization).await
}

/// bot_sign_in logs a bot in with its token.
pub async fn bot_sign_in(conn: &Link, app: &App, token: &str) -> Result<TelegramUser, Error> {
    let authorization = conn
        .invoke(&tl::functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: app.api_id,
            api_hash: app.api_hash.clone(),
            bot_auth_token: token.to_owned(),
        })
        .await?;
    complete(conn, authorization).await
}

/// QrToken is one step of a QR-code login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrToken {
    /// Show `token` (as `tg://login?token=<base64url>`) until `expires` (unix seconds).
    Token {
        token: Vec<u8>,
        expires: i64,
    },
    SignedIn(TelegramUser),
}

/// export_login_token asks for a QR login token, or learns that the last
/// one was accepted (`Error::PasswordRequired` when 2FA is on).
pub async fn export_login_token(conn: &Link, app: &App) -> Result<QrToken, Error> {
    let token = conn
        .invoke(&tl::functions::auth::ExportLoginToken {
            api_id: app.api_id,
            api_hash: app.api_hash.clone(),
            except_ids: Vec::new(),
        })
        .await?;
    match token {
        tl::enums::auth::LoginToken::Token(token) => Ok(QrToken::Token {
            token: token.token,
            expires: i64::from(token.expires),
        }),
        tl::enums::auth::LoginToken::Success(success) => Ok(QrToken::SignedIn(
            complete(conn, success.authorization).await?,
        )),
        tl::enums::auth::LoginToken::MigrateTo(_) => Err(Error::Client(
            "qr login asked to migrate to another dc, which is not supported".into(),
        )),
    }
}

pub async fn devices(conn: &Link) -> Result<Vec<TelegramDevice>, Error> {
    let time = |unix: i32| chrono::DateTime::from_timestamp(i64::from(unix), 0).unwrap_or_default();
    let tl::enums::account::Authorizations::Authorizations(list) = conn
        .invoke(&tl::functions::account::GetAuthorizations {})
        .await?;
    Ok(list
        .authorizations
        .into_iter()
        .map(
            |tl::enums::Authorization::Authorization(a)| TelegramDevice {
                hash: a.hash,
                current: a.current,
                device_model: a.device_model,
                platform: a.platform,
                app_name: format!("{} {}", a.app_name, a.app_version)
                    .trim()
                    .to_owned(),
                ip: a.ip,
                country: a.country,
                created_at: time(a.date_created),
                active_at: time(a.date_active),
            },
        )
        .collect())
}

pub async fn terminate_device(conn: &Link, hash: i64) -> Result<(), Error> {
    conn.invoke(&tl::functions::account::ResetAuthorization { hash })
        .await?;
    Ok(())
}

/// log_out ends the session at Telegram.
pub async fn log_out(conn: &Link) -> Result<(), Error> {
    conn.invoke(&tl::functions::auth::LogOut {}).await?;
    Ok(())
}

/// complete records the authorized user in the session (the self user,
/// which is how the session knows it is signed in) with the update state.
async fn complete(
    conn: &Link,
    authorization: tl::enums::auth::Authorization,
) -> Result<TelegramUser, Error> {
    let authorization = match authorization {
        tl::enums::auth::Authorization::Authorization(authorization) => authorization,
        tl::enums::auth::Authorization::SignUpRequired(_) => {
            return Err(Error::PhoneNumberInvalid {
                name: "PHONE_NUMBER_UNOCCUPIED".into(),
            });
        }
    };
    let tl::enums::User::User(user) = authorization.user else {
        return Err(Error::Client("authorization for an empty user".into()));
    };
    let state = conn.invoke(&tl::functions::updates::GetState {}).await?;
    let session = conn.session();
    let cache = async {
        session
            .cache_peer(PeerInfo::User {
                id: user.id,
                auth: user.access_hash.map(PeerAuth::from_hash),
                bot: Some(user.bot),
                is_self: Some(true),
            })
            .await?;
        let tl::enums::updates::State::State(state) = state;
        session
            .set_update_state(UpdateState::All(UpdatesState {
                pts: state.pts,
                qts: state.qts,
                date: state.date,
                seq: state.seq,
                channels: Vec::new(),
            }))
            .await?;
        session.flush().await
    };
    cache
        .await
        .map_err(|err: super::SessionError| Error::from(err))?;
    let display_name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(TelegramUser {
        user_id: user.id,
        bot: user.bot,
        phone: user.phone,
        username: user.username,
        display_name,
    })
}
