//! `auth.*` methods: code login, 2FA, bot tokens, QR login, log out. They
//! work on keys that are not logged in yet; everything else needs a user.

use grammers_tl_types as tl;
use grammers_tl_types::{Identifiable, Serializable};

use super::convert::users as convert;
use super::{Call, reply};
use crate::mtproto::RpcError;
use crate::network::{self, LoginToken};

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::auth;
    match id {
        auth::SendCode::CONSTRUCTOR_ID => {
            let request: auth::SendCode = call.parse()?;
            let sent = call
                .net
                .send_code(call.ctx.auth_key_id, &request.phone_number)?;
            reply(tl::enums::auth::SentCode::Code(tl::types::auth::SentCode {
                r#type: tl::enums::auth::SentCodeType::App(tl::types::auth::SentCodeTypeApp {
                    length: i32::try_from(sent.code_length).unwrap_or(5),
                }),
                phone_code_hash: sent.phone_code_hash,
                next_type: None,
                timeout: None,
            }))
        }
        auth::SignIn::CONSTRUCTOR_ID => {
            let request: auth::SignIn = call.parse()?;
            let user = call.net.sign_in(
                call.ctx.auth_key_id,
                &request.phone_number,
                &request.phone_code_hash,
                request.phone_code.as_deref().unwrap_or_default(),
            )?;
            reply(authorization(call, &user))
        }
        auth::CheckPassword::CONSTRUCTOR_ID => {
            let request: auth::CheckPassword = call.parse()?;
            let tl::enums::InputCheckPasswordSrp::Srp(srp) = request.password else {
                return Err(network::Error::PasswordHashInvalid.into());
            };
            let user =
                call.net
                    .check_password(call.ctx.auth_key_id, srp.srp_id, &srp.a, &srp.m1)?;
            reply(authorization(call, &user))
        }
        auth::ImportBotAuthorization::CONSTRUCTOR_ID => {
            let request: auth::ImportBotAuthorization = call.parse()?;
            let user = call
                .net
                .import_bot_authorization(call.ctx.auth_key_id, &request.bot_auth_token)?;
            reply(authorization(call, &user))
        }
        auth::ExportLoginToken::CONSTRUCTOR_ID => {
            let _: auth::ExportLoginToken = call.parse()?;
            match call.net.export_login_token(call.ctx.auth_key_id)? {
                LoginToken::Token { token, expires } => reply(tl::enums::auth::LoginToken::Token(
                    tl::types::auth::LoginToken {
                        expires: i32::try_from(expires).unwrap_or(i32::MAX),
                        token,
                    },
                )),
                LoginToken::Success(user) => reply(tl::enums::auth::LoginToken::Success(
                    tl::types::auth::LoginTokenSuccess {
                        authorization: authorization(call, &user),
                    },
                )),
            }
        }
        auth::AcceptLoginToken::CONSTRUCTOR_ID => {
            let request: auth::AcceptLoginToken = call.parse()?;
            let accepted = call
                .net
                .accept_login_token(call.ctx.auth_key_id, &request.token)?;
            // The exporter polls again on `updateLoginToken` and gets
            // `auth.loginTokenSuccess` (or SESSION_PASSWORD_NEEDED).
            if let Some(server) = call.rpc.server.get() {
                let update = convert::login_token_updated(call.net.now());
                server.push(accepted.exporter_auth_key_id, update.to_bytes());
            }
            reply(super::account::authorization(&accepted.authorization))
        }
        auth::LogOut::CONSTRUCTOR_ID => {
            let _: auth::LogOut = call.parse()?;
            call.net.log_out(call.ctx.auth_key_id)?;
            reply(tl::enums::auth::LoggedOut::Out(
                tl::types::auth::LoggedOut {
                    future_auth_token: None,
                },
            ))
        }
        _ => call.unknown(),
    }
}

/// authorization is `auth.authorization` for the user just logged in on
/// the calling key.
fn authorization(call: &Call<'_>, user: &network::User) -> tl::enums::auth::Authorization {
    tl::enums::auth::Authorization::Authorization(tl::types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: convert::user(call.net, user.id, user),
    })
}
