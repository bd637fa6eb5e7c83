//! SandboxService in a gateway built without the sandbox feature: it is
//! part of the contract, so it is served and authenticated, and every RPC
//! answers UNIMPLEMENTED with reason SANDBOX_DISABLED.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::sandbox_service_server::SandboxService;
use tonic::{Request, Response, Status};

use super::caller;
use crate::domain::Error;

pub struct SandboxApi;

fn unbuilt<T, R>(request: &Request<T>) -> Result<Response<R>, Status> {
    caller(request)?;
    Err(Error::SandboxDisabled.into())
}

#[tonic::async_trait]
impl SandboxService for SandboxApi {
    async fn create_sandbox_user(
        &self,
        request: Request<pb::CreateSandboxUserRequest>,
    ) -> Result<Response<pb::CreateSandboxUserResponse>, Status> {
        unbuilt(&request)
    }

    async fn list_sandbox_users(
        &self,
        request: Request<pb::ListSandboxUsersRequest>,
    ) -> Result<Response<pb::ListSandboxUsersResponse>, Status> {
        unbuilt(&request)
    }

    async fn send_as_sandbox_user(
        &self,
        request: Request<pb::SendAsSandboxUserRequest>,
    ) -> Result<Response<pb::SendAsSandboxUserResponse>, Status> {
        unbuilt(&request)
    }

    async fn accept_qr_login(
        &self,
        request: Request<pb::AcceptQrLoginRequest>,
    ) -> Result<Response<pb::AcceptQrLoginResponse>, Status> {
        unbuilt(&request)
    }

    async fn inject_fault(
        &self,
        request: Request<pb::InjectFaultRequest>,
    ) -> Result<Response<pb::InjectFaultResponse>, Status> {
        unbuilt(&request)
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;
    use crate::domain::{Caller, PrincipalKind, Scope, TenantId};

    #[tokio::test]
    async fn every_rpc_says_the_gateway_was_built_without_the_sandbox() {
        let mut request = Request::new(pb::CreateSandboxUserRequest::default());
        request.extensions_mut().insert(Caller {
            tenant: TenantId::parse("acme").unwrap(),
            principal: "u".into(),
            kind: PrincipalKind::User,
            scopes: [Scope::Sandbox].into_iter().collect(),
        });
        let err = SandboxApi.create_sandbox_user(request).await.unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented);
        assert!(
            err.message().contains("built without the sandbox"),
            "{}",
            err.message()
        );
        let info = err.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "SANDBOX_DISABLED");

        // Without credentials it is UNAUTHENTICATED first, like every RPC.
        let anonymous = Request::new(pb::InjectFaultRequest::default());
        let err = SandboxApi.inject_fault(anonymous).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
    }
}
