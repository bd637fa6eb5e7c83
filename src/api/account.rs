//! AccountService: reading accounts and their login life cycle.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_server::AccountService;
use tonic::{Request, Response, Status};

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::caller;
use super::convert::timestamp;
use super::page::{self, Limits};
use crate::domain::login::{BotToken, LoginCode, Password, PhoneNumber, RequestId};
use crate::domain::{AccountId, Error, FieldViolation};
use crate::service::Accounts;
use crate::service::accounts::{Credential, QrLoginRun, QrStep};

/// QR_LOGIN_TIMEOUT ends a QR login nobody completes.
const QR_LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

const LIST_ACCOUNTS: &str = "ListAccounts";
const LIST_ACCOUNTS_LIMITS: Limits = Limits {
    default: 100,
    max: 1000,
};

pub struct AccountApi {
    accounts: Accounts,
}

impl AccountApi {
    pub fn new(accounts: Accounts) -> Self {
        Self { accounts }
    }
}

/// both reports every bad field of a two-field request at once.
fn both<A, B>(a: Result<A, Error>, b: Result<B, FieldViolation>) -> Result<(A, B), Error> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => {
            let mut violations = match a.err() {
                Some(Error::InvalidArgument(v)) => v,
                Some(other) => return Err(other),
                None => Vec::new(),
            };
            violations.extend(b.err());
            Err(Error::InvalidArgument(violations))
        }
    }
}

fn optional_request_id(value: &str, violations: &mut Vec<FieldViolation>) -> Option<RequestId> {
    if value.is_empty() {
        return None;
    }
    RequestId::parse(value)
        .map_err(|why| violations.push(FieldViolation::new("request_id", why)))
        .ok()
}

/// qr_login drives one StartQrLogin stream: a QR code when the login
/// starts and each time the shown one expires, then the account. A stream
/// the caller abandons (or that times out) removes the half-made account.
async fn qr_login(mut run: QrLoginRun, tx: mpsc::Sender<Result<pb::StartQrLoginResponse, Status>>) {
    use pb::start_qr_login_response::Event;
    let deadline = tokio::time::sleep(QR_LOGIN_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let step = tokio::select! {
            step = run.next() => step,
            _ = tx.closed() => break,
            _ = &mut deadline => {
                let _ = tx
                    .send(Err(Status::deadline_exceeded("the qr code was not scanned in time")))
                    .await;
                break;
            }
        };
        let (event, last) = match step {
            Ok(QrStep::Code { url, expires }) => (
                Event::QrCode(pb::QrCode {
                    qr_url: url,
                    expire_time: Some(timestamp(expires)),
                }),
                false,
            ),
            Ok(QrStep::Done(account)) => (Event::Account(account.into()), true),
            Err(err) => {
                let _ = tx.send(Err(err.into())).await;
                break;
            }
        };
        let sent = tx
            .send(Ok(pb::StartQrLoginResponse { event: Some(event) }))
            .await;
        if sent.is_err() || last {
            break;
        }
    }
    run.end().await;
}

pub(super) fn account_id(field: &str, value: &str) -> Result<AccountId, Error> {
    if value.is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    value
        .parse()
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

#[tonic::async_trait]
impl AccountService for AccountApi {
    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::GetAccountRequest { account_id: id } = request.into_inner();
        let id = account_id("account_id", &id)?;
        let account = self.accounts.get(&caller, id).await?;
        Ok(Response::new(pb::GetAccountResponse {
            account: Some(account.into()),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::ListAccountsRequest {
            page_size,
            page_token,
        } = request.into_inner();
        // Validate every field before touching the store, and report all bad fields at once.
        let size = page::page_size(page_size, LIST_ACCOUNTS_LIMITS);
        let after = page::decode_token(LIST_ACCOUNTS, &page_token).and_then(|cursor| {
            cursor
                .map(|c| c.parse::<AccountId>())
                .transpose()
                .map_err(|_| Error::invalid("page_token", "not a page token issued by this RPC"))
        });
        let (size, after) = match (size, after) {
            (Ok(size), Ok(after)) => (size, after),
            (size, after) => {
                let violations = [size.err(), after.err()]
                    .into_iter()
                    .flatten()
                    .flat_map(|err| match err {
                        Error::InvalidArgument(v) => v,
                        _ => unreachable!("page helpers only fail with InvalidArgument"),
                    })
                    .collect();
                return Err(Error::InvalidArgument(violations).into());
            }
        };
        let page = self.accounts.list(&caller, after, size).await?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: page.accounts.into_iter().map(Into::into).collect(),
            next_page_token: page
                .next_after
                .map(|id| page::encode_token(LIST_ACCOUNTS, &id.to_string()))
                .unwrap_or_default(),
        }))
    }

    async fn start_login(
        &self,
        request: Request<pb::StartLoginRequest>,
    ) -> Result<Response<pb::StartLoginResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::StartLoginRequest {
            credential,
            request_id,
        } = request.into_inner();
        let mut violations = Vec::new();
        let credential = match credential {
            Some(pb::start_login_request::Credential::PhoneNumber(phone)) => {
                PhoneNumber::parse(&phone)
                    .map(Credential::Phone)
                    .map_err(|why| violations.push(FieldViolation::new("phone_number", why)))
                    .ok()
            }
            Some(pb::start_login_request::Credential::BotToken(token)) => BotToken::parse(&token)
                .map(Credential::Bot)
                .map_err(|why| violations.push(FieldViolation::new("bot_token", why)))
                .ok(),
            None => {
                violations.push(FieldViolation::new(
                    "credential",
                    "set phone_number or bot_token",
                ));
                None
            }
        };
        let request_id = optional_request_id(&request_id, &mut violations);
        let (Some(credential), true) = (credential, violations.is_empty()) else {
            return Err(Error::InvalidArgument(violations).into());
        };
        let account = self
            .accounts
            .start_login(&caller, credential, request_id)
            .await?;
        Ok(Response::new(pb::StartLoginResponse {
            account: Some(account.into()),
        }))
    }

    async fn submit_code(
        &self,
        request: Request<pb::SubmitCodeRequest>,
    ) -> Result<Response<pb::SubmitCodeResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::SubmitCodeRequest {
            account_id: id,
            code,
        } = request.into_inner();
        let id = account_id("account_id", &id);
        let code = LoginCode::parse(&code).map_err(|why| FieldViolation::new("code", why));
        let (id, code) = both(id, code)?;
        let account = self.accounts.submit_code(&caller, id, code).await?;
        Ok(Response::new(pb::SubmitCodeResponse {
            account: Some(account.into()),
        }))
    }

    async fn submit_password(
        &self,
        request: Request<pb::SubmitPasswordRequest>,
    ) -> Result<Response<pb::SubmitPasswordResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::SubmitPasswordRequest {
            account_id: id,
            password,
        } = request.into_inner();
        let password = zeroize::Zeroizing::new(password);
        let id = account_id("account_id", &id);
        let password =
            Password::parse(&password).map_err(|why| FieldViolation::new("password", why));
        let (id, password) = both(id, password)?;
        let account = self.accounts.submit_password(&caller, id, password).await?;
        Ok(Response::new(pb::SubmitPasswordResponse {
            account: Some(account.into()),
        }))
    }

    type StartQrLoginStream =
        Pin<Box<dyn Stream<Item = Result<pb::StartQrLoginResponse, Status>> + Send>>;

    async fn start_qr_login(
        &self,
        request: Request<pb::StartQrLoginRequest>,
    ) -> Result<Response<Self::StartQrLoginStream>, Status> {
        let caller = caller(&request)?.clone();
        let pb::StartQrLoginRequest { request_id } = request.into_inner();
        let mut violations = Vec::new();
        let request_id = optional_request_id(&request_id, &mut violations);
        if !violations.is_empty() {
            return Err(Error::InvalidArgument(violations).into());
        }
        let run = self.accounts.start_qr_login(&caller, request_id).await?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(qr_login(run, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn log_out(
        &self,
        request: Request<pb::LogOutRequest>,
    ) -> Result<Response<pb::LogOutResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::LogOutRequest { account_id: id } = request.into_inner();
        let id = account_id("account_id", &id)?;
        let account = self.accounts.log_out(&caller, id).await?;
        Ok(Response::new(pb::LogOutResponse {
            account: Some(account.into()),
        }))
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::DeleteAccountRequest { account_id: id } = request.into_inner();
        let id = account_id("account_id", &id)?;
        self.accounts.delete_account(&caller, id).await?;
        Ok(Response::new(pb::DeleteAccountResponse {}))
    }

    async fn list_authorizations(
        &self,
        request: Request<pb::ListAuthorizationsRequest>,
    ) -> Result<Response<pb::ListAuthorizationsResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::ListAuthorizationsRequest { account_id: id } = request.into_inner();
        let id = account_id("account_id", &id)?;
        let mut devices = self.accounts.devices(&caller, id).await?;
        // The gateway's own session first, as the proto promises.
        devices.sort_by_key(|d| !d.current);
        Ok(Response::new(pb::ListAuthorizationsResponse {
            authorizations: devices.into_iter().map(Into::into).collect(),
        }))
    }

    async fn terminate_authorization(
        &self,
        request: Request<pb::TerminateAuthorizationRequest>,
    ) -> Result<Response<pb::TerminateAuthorizationResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::TerminateAuthorizationRequest {
            account_id: id,
            authorization_hash,
        } = request.into_inner();
        let id = account_id("account_id", &id);
        let hash = if authorization_hash == 0 {
            Err(FieldViolation::new(
                "authorization_hash",
                "required (from ListAuthorizations); use LogOut for the gateway's own session",
            ))
        } else {
            Ok(authorization_hash)
        };
        let (id, hash) = both(id, hash)?;
        self.accounts.terminate_device(&caller, id, hash).await?;
        Ok(Response::new(pb::TerminateAuthorizationResponse {}))
    }
}
