//! Test clients of one gateway: AccountService and SandboxService with a
//! tenant's token, and the steps tests repeat (sandbox users, logins).

use std::time::Duration;

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tezgram_sdk::v1::sandbox_service_client::SandboxServiceClient;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::server::{TestServer, authed};

pub struct Clients {
    pub accounts: AccountServiceClient<Channel>,
    pub sandbox: SandboxServiceClient<Channel>,
    pub token: String,
}

impl Clients {
    /// of connects to the server as tenant `acme`.
    pub async fn of(server: &TestServer) -> Clients {
        Clients::on(server.channel().await, server.token("acme"))
    }

    /// on uses a channel to any gateway (one in another process, too).
    pub fn on(channel: Channel, token: String) -> Clients {
        Clients {
            accounts: AccountServiceClient::new(channel.clone()),
            sandbox: SandboxServiceClient::new(channel),
            token,
        }
    }

    /// sandbox_user creates a sandbox user "<first_name> Lee", with a 2FA
    /// password (hint "pet") unless `password` is empty.
    pub async fn sandbox_user(
        &mut self,
        phone: &str,
        first_name: &str,
        password: &str,
    ) -> pb::SandboxUser {
        self.sandbox
            .create_sandbox_user(authed(
                pb::CreateSandboxUserRequest {
                    phone_number: phone.into(),
                    first_name: first_name.into(),
                    last_name: "Lee".into(),
                    password: password.into(),
                    password_hint: if password.is_empty() {
                        String::new()
                    } else {
                        "pet".into()
                    },
                    ..Default::default()
                },
                &self.token,
            ))
            .await
            .expect("CreateSandboxUser")
            .into_inner()
            .sandbox_user
            .expect("a sandbox user")
    }

    pub async fn start_login(&mut self, phone: &str) -> Result<pb::Account, tonic::Status> {
        self.start_phone_login(phone, "").await
    }

    /// start_phone_login is StartLogin with a phone number and a request_id
    /// (empty: none).
    pub async fn start_phone_login(
        &mut self,
        phone: &str,
        request_id: &str,
    ) -> Result<pb::Account, tonic::Status> {
        let phone = pb::start_login_request::Credential::PhoneNumber(phone.into());
        self.start_login_with(phone, request_id).await
    }

    /// start_bot_login is StartLogin with a bot token and a request_id
    /// (empty: none).
    pub async fn start_bot_login(
        &mut self,
        token: &str,
        request_id: &str,
    ) -> Result<pb::Account, tonic::Status> {
        let token = pb::start_login_request::Credential::BotToken(token.into());
        self.start_login_with(token, request_id).await
    }

    async fn start_login_with(
        &mut self,
        credential: pb::start_login_request::Credential,
        request_id: &str,
    ) -> Result<pb::Account, tonic::Status> {
        self.accounts
            .start_login(authed(
                pb::StartLoginRequest {
                    credential: Some(credential),
                    request_id: request_id.into(),
                },
                &self.token,
            ))
            .await
            .map(|r| r.into_inner().account.expect("an account"))
    }

    /// sandbox_bot creates a sandbox bot (its username must end in "bot");
    /// the user carries its token.
    pub async fn sandbox_bot(&mut self, first_name: &str, username: &str) -> pb::SandboxUser {
        self.sandbox
            .create_sandbox_user(authed(
                pb::CreateSandboxUserRequest {
                    first_name: first_name.into(),
                    username: username.into(),
                    bot: true,
                    ..Default::default()
                },
                &self.token,
            ))
            .await
            .expect("CreateSandboxUser of a bot")
            .into_inner()
            .sandbox_user
            .expect("a sandbox bot")
    }

    pub async fn submit_code(
        &mut self,
        id: &str,
        code: &str,
    ) -> Result<pb::Account, tonic::Status> {
        self.accounts
            .submit_code(authed(
                pb::SubmitCodeRequest {
                    account_id: id.into(),
                    code: code.into(),
                },
                &self.token,
            ))
            .await
            .map(|r| r.into_inner().account.expect("an account"))
    }

    pub async fn submit_password(
        &mut self,
        id: &str,
        password: &str,
    ) -> Result<pb::Account, tonic::Status> {
        self.accounts
            .submit_password(authed(
                pb::SubmitPasswordRequest {
                    account_id: id.into(),
                    password: password.into(),
                },
                &self.token,
            ))
            .await
            .map(|r| r.into_inner().account.expect("an account"))
    }

    pub async fn get(&mut self, id: &str) -> pb::Account {
        self.accounts
            .get_account(authed(
                pb::GetAccountRequest {
                    account_id: id.into(),
                },
                &self.token,
            ))
            .await
            .expect("GetAccount")
            .into_inner()
            .account
            .expect("an account")
    }

    pub async fn devices(&mut self, id: &str) -> Vec<pb::Authorization> {
        self.accounts
            .list_authorizations(authed(
                pb::ListAuthorizationsRequest {
                    account_id: id.into(),
                },
                &self.token,
            ))
            .await
            .expect("ListAuthorizations")
            .into_inner()
            .authorizations
    }

    /// inject_fault makes the account's sandbox session misbehave.
    pub async fn inject_fault(
        &mut self,
        account_id: &str,
        method: &str,
        fault: pb::inject_fault_request::Fault,
    ) {
        self.sandbox
            .inject_fault(authed(
                pb::InjectFaultRequest {
                    account_id: account_id.into(),
                    method: method.into(),
                    fault: Some(fault),
                },
                &self.token,
            ))
            .await
            .expect("InjectFault");
    }

    /// send_as makes a sandbox user write `text` to the account's user.
    pub async fn send_as(
        &mut self,
        from: &pb::SandboxUser,
        to_account_id: &str,
        text: &str,
    ) -> pb::Message {
        self.sandbox
            .send_as_sandbox_user(authed(
                pb::SendAsSandboxUserRequest {
                    sandbox_user: Some(pb::SandboxUserRef {
                        user: Some(pb::sandbox_user_ref::User::UserId(from.user_id)),
                    }),
                    to_account_id: to_account_id.into(),
                    text: text.into(),
                },
                &self.token,
            ))
            .await
            .expect("SendAsSandboxUser")
            .into_inner()
            .message
            .expect("the message as the account sees it")
    }

    /// list lists the tenant's accounts (first page).
    pub async fn list(&mut self) -> Vec<pb::Account> {
        self.accounts
            .list_accounts(authed(pb::ListAccountsRequest::default(), &self.token))
            .await
            .expect("ListAccounts")
            .into_inner()
            .accounts
    }

    /// login_user connects an existing sandbox user by phone and code.
    pub async fn login_user(&mut self, user: &pb::SandboxUser) -> pb::Account {
        let account = self
            .start_login(&user.phone_number)
            .await
            .expect("StartLogin");
        assert_eq!(account.state(), pb::AccountState::LoginCodeRequired);
        self.submit_code(&account.account_id, &user.login_code)
            .await
            .expect("SubmitCode")
    }

    /// login creates a sandbox user with that phone and connects it.
    pub async fn login(&mut self, phone: &str) -> pb::Account {
        let user = self.sandbox_user(phone, "Ann", "").await;
        self.login_user(&user).await
    }
}

/// reason is the status's ErrorInfo reason, empty without one.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// eventually polls (bounded: 20 s) until `check` holds.
pub async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never happened: {what}");
}
