//! `account.*` methods: the 2FA challenge and the list of logged-in devices.

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;
use rand::RngCore;

use super::{Call, reply};
use crate::mtproto::RpcError;
use crate::network::{self, SRP_G, SRP_P_HEX, SrpChallenge};

/// AUTHORIZATION_TTL_DAYS is how long an unused session lives, as Telegram
/// reports it (the sandbox never expires sessions).
const AUTHORIZATION_TTL_DAYS: i32 = 180;

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::account;
    match id {
        account::GetPassword::CONSTRUCTOR_ID => {
            let _: account::GetPassword = call.parse()?;
            // Also answered while the key waits for its password, so no
            // `call.user()` here: the network checks the key's state.
            let info = call.net.get_password(call.ctx.auth_key_id)?;
            reply(password(info))
        }
        account::GetAuthorizations::CONSTRUCTOR_ID => {
            let _: account::GetAuthorizations = call.parse()?;
            call.user()?;
            let list = call.net.authorizations(call.ctx.auth_key_id)?;
            reply(tl::enums::account::Authorizations::Authorizations(
                tl::types::account::Authorizations {
                    authorization_ttl_days: AUTHORIZATION_TTL_DAYS,
                    authorizations: list.iter().map(authorization).collect(),
                },
            ))
        }
        account::ResetAuthorization::CONSTRUCTOR_ID => {
            let request: account::ResetAuthorization = call.parse()?;
            call.user()?;
            call.net
                .terminate_authorization(call.ctx.auth_key_id, request.hash)?;
            reply(true)
        }
        _ => {
            call.user()?;
            call.unknown()
        }
    }
}

/// authorization is one logged-in device as TL.
pub(super) fn authorization(auth: &network::Authorization) -> tl::enums::Authorization {
    let date = |seconds: i64| i32::try_from(seconds).unwrap_or(i32::MAX);
    tl::enums::Authorization::Authorization(tl::types::Authorization {
        current: auth.current,
        official_app: false,
        password_pending: auth.hash == 0,
        encrypted_requests_disabled: true,
        call_requests_disabled: true,
        unconfirmed: false,
        hash: auth.hash,
        device_model: auth.client.device_model.clone(),
        platform: auth.client.platform.clone(),
        system_version: auth.client.system_version.clone(),
        api_id: auth.client.api_id,
        app_name: auth.client.app_name.clone(),
        app_version: auth.client.app_version.clone(),
        date_created: date(auth.date_created),
        date_active: date(auth.date_active),
        ip: auth.client.ip.clone(),
        country: "Sandbox".to_owned(),
        region: String::new(),
    })
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// password is `account.password`. `secure_random` is the client's SRP
/// secret `a` (grammers uses it as is), so it is 256 fresh random bytes.
fn password(info: network::PasswordInfo) -> tl::enums::account::Password {
    let network::PasswordInfo { challenge, hint } = info;
    let new_salt1 = challenge
        .as_ref()
        .map_or_else(|| random_bytes(8), |c| c.salt1.clone());
    let new_algo = tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
        tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
            salt1: new_salt1,
            salt2: random_bytes(16),
            g: SRP_G,
            p: hex::decode(SRP_P_HEX).expect("SRP_P_HEX is valid hex"),
        },
    );
    let has_password = challenge.is_some();
    let (current_algo, srp_b, srp_id) = match challenge {
        Some(SrpChallenge {
            salt1,
            salt2,
            g,
            p,
            srp_b,
            srp_id,
        }) => (
            Some(
                tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
                    tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
                        salt1,
                        salt2,
                        g,
                        p,
                    },
                ),
            ),
            Some(srp_b),
            Some(srp_id),
        ),
        None => (None, None, None),
    };
    tl::enums::account::Password::Password(tl::types::account::Password {
        has_recovery: false,
        has_secure_values: false,
        has_password,
        current_algo,
        srp_b,
        srp_id,
        hint: if has_password { hint } else { None },
        email_unconfirmed_pattern: None,
        new_algo,
        new_secure_algo: tl::enums::SecurePasswordKdfAlgo::Pbkdf2Hmacsha512iter100000(
            tl::types::SecurePasswordKdfAlgoPbkdf2Hmacsha512iter100000 {
                salt: random_bytes(8),
            },
        ),
        secure_random: random_bytes(256),
        pending_reset_date: None,
        login_email_pattern: None,
    })
}
