//! SandboxService: drive the sandbox DC (demos and tests). Answers
//! SANDBOX_DISABLED when the gateway talks to real Telegram.

use tezgram_sandbox::{Message, Peer};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::sandbox_service_server::SandboxService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::caller;
use super::convert::timestamp;
use super::page::{self, Limits};
use crate::domain::{Caller, Error};
use crate::service::sandbox::{InjectedFault, NewSandboxUser, SandboxAdmin, SandboxUser, UserRef};

const LIST_USERS: &str = "ListSandboxUsers";
const LIST_USERS_LIMITS: Limits = Limits {
    default: 100,
    max: 1000,
};

pub struct SandboxApi {
    admin: Option<SandboxAdmin>,
}

impl SandboxApi {
    pub fn new(admin: Option<SandboxAdmin>) -> Self {
        Self { admin }
    }

    fn admin<T>(&self, request: &Request<T>) -> Result<(Caller, &SandboxAdmin), Status> {
        let caller = caller(request)?.clone();
        let admin = self.admin.as_ref().ok_or(Error::SandboxDisabled)?;
        Ok((caller, admin))
    }
}

fn user_ref(user: Option<pb::SandboxUserRef>) -> Result<UserRef, Error> {
    match user.and_then(|u| u.user) {
        Some(pb::sandbox_user_ref::User::PhoneNumber(phone)) => {
            Ok(UserRef::Phone(phone.trim_start_matches('+').to_owned()))
        }
        Some(pb::sandbox_user_ref::User::UserId(id)) => Ok(UserRef::Id(id)),
        None => Err(Error::invalid(
            "sandbox_user",
            "set phone_number or user_id",
        )),
    }
}

fn sandbox_user(view: SandboxUser) -> pb::SandboxUser {
    let SandboxUser {
        user,
        login_code,
        bot_token,
        has_password,
    } = view;
    pb::SandboxUser {
        user_id: user.id,
        phone_number: user.phone.unwrap_or_default(),
        first_name: user.first_name,
        last_name: user.last_name,
        username: user.username.unwrap_or_default(),
        bot: user.bot,
        login_code: login_code.unwrap_or_default(),
        bot_token: bot_token.unwrap_or_default(),
        has_password,
        create_time: None,
    }
}

/// message converts the account's copy of a message it received.
fn received(account_id: &str, message: Message) -> pb::Message {
    let chat_id = match message.peer {
        Peer::User(id) => id,
        Peer::Chat(id) => -id,
        Peer::Channel(id) => -(1_000_000_000_000 + id),
    };
    pb::Message {
        account_id: account_id.to_owned(),
        chat_id,
        message_id: i64::from(message.id),
        sender_id: message.from_id,
        outgoing: message.out,
        text: message.text,
        entities: Vec::new(),
        media: None,
        reply_to_message_id: message.reply_to.map(i64::from).unwrap_or_default(),
        forward_from: None,
        send_time: chrono::DateTime::from_timestamp(message.date, 0).map(timestamp),
        edit_time: message
            .edit_date
            .and_then(|d| chrono::DateTime::from_timestamp(d, 0))
            .map(timestamp),
        views: 0,
        state: pb::MessageState::Sent as i32,
        request_id: String::new(),
        error_reason: String::new(),
        grouped_id: 0,
        action: None,
    }
}

#[tonic::async_trait]
impl SandboxService for SandboxApi {
    async fn create_sandbox_user(
        &self,
        request: Request<pb::CreateSandboxUserRequest>,
    ) -> Result<Response<pb::CreateSandboxUserResponse>, Status> {
        let (caller, admin) = self.admin(&request)?;
        let pb::CreateSandboxUserRequest {
            phone_number,
            first_name,
            last_name,
            username,
            password,
            password_hint,
            bot,
            request_id: _,
        } = request.into_inner();
        if first_name.trim().is_empty() {
            return Err(Error::invalid("first_name", "required").into());
        }
        if password.len() > 256 {
            return Err(Error::invalid("password", "must be at most 256 bytes").into());
        }
        let new = NewSandboxUser {
            phone: phone_number.trim_start_matches('+').to_owned(),
            first_name,
            last_name,
            username: Some(username).filter(|u| !u.is_empty()),
            password: (!password.is_empty()).then(|| {
                (
                    zeroize::Zeroizing::new(password),
                    Some(password_hint).filter(|h| !h.is_empty()),
                )
            }),
            bot,
        };
        let user = admin.create_user(&caller, new).await?;
        Ok(Response::new(pb::CreateSandboxUserResponse {
            sandbox_user: Some(sandbox_user(user)),
        }))
    }

    async fn list_sandbox_users(
        &self,
        request: Request<pb::ListSandboxUsersRequest>,
    ) -> Result<Response<pb::ListSandboxUsersResponse>, Status> {
        let (caller, admin) = self.admin(&request)?;
        let pb::ListSandboxUsersRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let size = page::page_size(page_size, LIST_USERS_LIMITS)?;
        let after = match page::decode_token(LIST_USERS, &page_token)? {
            Some(cursor) => cursor
                .parse::<i64>()
                .map_err(|_| Error::invalid("page_token", "not a page token issued by this RPC"))?,
            None => 0,
        };
        // One more than asked says whether another page follows.
        let mut users = admin.list_users(&caller, after, size + 1).await?;
        let next_page_token = if users.len() > size as usize {
            users.truncate(size as usize);
            users
                .last()
                .map(|u| page::encode_token(LIST_USERS, &u.user.id.to_string()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListSandboxUsersResponse {
            sandbox_users: users.into_iter().map(sandbox_user).collect(),
            next_page_token,
        }))
    }

    async fn send_as_sandbox_user(
        &self,
        request: Request<pb::SendAsSandboxUserRequest>,
    ) -> Result<Response<pb::SendAsSandboxUserResponse>, Status> {
        let (caller, admin) = self.admin(&request)?;
        let pb::SendAsSandboxUserRequest {
            sandbox_user,
            to_account_id,
            text,
        } = request.into_inner();
        let from = user_ref(sandbox_user)?;
        let to = account_id("to_account_id", &to_account_id)?;
        let message = admin.send_as_user(&caller, &from, to, text).await?;
        Ok(Response::new(pb::SendAsSandboxUserResponse {
            message: Some(received(&to_account_id, message)),
        }))
    }

    async fn accept_qr_login(
        &self,
        request: Request<pb::AcceptQrLoginRequest>,
    ) -> Result<Response<pb::AcceptQrLoginResponse>, Status> {
        let (caller, admin) = self.admin(&request)?;
        let pb::AcceptQrLoginRequest {
            sandbox_user,
            qr_url,
        } = request.into_inner();
        let user = user_ref(sandbox_user)?;
        admin.accept_qr_login(&caller, &user, &qr_url).await?;
        Ok(Response::new(pb::AcceptQrLoginResponse {}))
    }

    async fn inject_fault(
        &self,
        request: Request<pb::InjectFaultRequest>,
    ) -> Result<Response<pb::InjectFaultResponse>, Status> {
        let (caller, admin) = self.admin(&request)?;
        let pb::InjectFaultRequest {
            account_id: id,
            method,
            fault,
        } = request.into_inner();
        let id = account_id("account_id", &id)?;
        if method.len() > 128
            || !method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        {
            return Err(Error::invalid(
                "method",
                "a TL method name like auth.sendCode, or empty for any",
            )
            .into());
        }
        let fault = match fault {
            Some(pb::inject_fault_request::Fault::FloodWait(pb::FloodWait { seconds, count })) => {
                if !(1..=86_400).contains(&seconds) {
                    return Err(Error::invalid("flood_wait.seconds", "must be 1 to 86400").into());
                }
                if !(0..=1000).contains(&count) {
                    return Err(Error::invalid(
                        "flood_wait.count",
                        "must be 0 to 1000 (0 means 1)",
                    )
                    .into());
                }
                InjectedFault::FloodWait {
                    seconds: seconds as u32,
                    count: count as u32,
                }
            }
            Some(pb::inject_fault_request::Fault::SessionRevoked(pb::SessionRevoked {})) => {
                InjectedFault::SessionRevoked
            }
            Some(pb::inject_fault_request::Fault::DropConnection(pb::DropConnection {})) => {
                InjectedFault::DropConnection
            }
            None => {
                return Err(Error::invalid(
                    "fault",
                    "set flood_wait, session_revoked or drop_connection",
                )
                .into());
            }
        };
        admin.inject_fault(&caller, id, &method, fault).await?;
        Ok(Response::new(pb::InjectFaultResponse {}))
    }
}
