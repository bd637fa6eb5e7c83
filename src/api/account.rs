//! AccountService. Reads are served now; logging in arrives with the
//! Telegram adapter and answers NOT_IMPLEMENTED_YET until then.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_server::AccountService;
use tonic::{Request, Response, Status};

use super::page::{self, Limits};
use super::{NotImplementedStream, caller, not_implemented};
use crate::domain::{AccountId, Error};
use crate::service::Accounts;

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

fn account_id(field: &str, value: &str) -> Result<AccountId, Error> {
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
        not_implemented(&request, "StartLogin")
    }

    async fn submit_code(
        &self,
        request: Request<pb::SubmitCodeRequest>,
    ) -> Result<Response<pb::SubmitCodeResponse>, Status> {
        not_implemented(&request, "SubmitCode")
    }

    async fn submit_password(
        &self,
        request: Request<pb::SubmitPasswordRequest>,
    ) -> Result<Response<pb::SubmitPasswordResponse>, Status> {
        not_implemented(&request, "SubmitPassword")
    }

    type StartQrLoginStream = NotImplementedStream<pb::StartQrLoginResponse>;

    async fn start_qr_login(
        &self,
        request: Request<pb::StartQrLoginRequest>,
    ) -> Result<Response<Self::StartQrLoginStream>, Status> {
        not_implemented(&request, "StartQrLogin")
    }

    async fn log_out(
        &self,
        request: Request<pb::LogOutRequest>,
    ) -> Result<Response<pb::LogOutResponse>, Status> {
        not_implemented(&request, "LogOut")
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        not_implemented(&request, "DeleteAccount")
    }

    async fn list_authorizations(
        &self,
        request: Request<pb::ListAuthorizationsRequest>,
    ) -> Result<Response<pb::ListAuthorizationsResponse>, Status> {
        not_implemented(&request, "ListAuthorizations")
    }

    async fn terminate_authorization(
        &self,
        request: Request<pb::TerminateAuthorizationRequest>,
    ) -> Result<Response<pb::TerminateAuthorizationResponse>, Status> {
        not_implemented(&request, "TerminateAuthorization")
    }
}
