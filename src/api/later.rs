//! The services whose capabilities arrive in later releases. They are part
//! of the v1 contract (clients and SDKs are generated against it), so they
//! are served, authenticated, and answer UNIMPLEMENTED with ErrorInfo reason
//! NOT_IMPLEMENTED_YET — never a silent stub.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::crm_service_server::CrmService;
use tonic::{Request, Response, Status};

use super::{caller, not_implemented};

/// later_service implements a service whose unary RPCs answer
/// NOT_IMPLEMENTED_YET after `self.check(&request)`; streaming RPCs follow
/// the list verbatim. It writes the whole impl so `async_trait` sees every method.
macro_rules! later_service {
    (
        $api:ident: $service:ident {
            $($method:ident($req:ident) -> $resp:ident = $rpc:literal;)*
        }
        $($streaming:tt)*
    ) => {
        #[tonic::async_trait]
        impl $service for $api {
            $(
                async fn $method(
                    &self,
                    request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    self.check(&request)?;
                    not_implemented(&request, $rpc)
                }
            )*
            $($streaming)*
        }
    };
}

/// Unit APIs with nothing to check beyond authentication.
macro_rules! plain_api {
    ($($api:ident),+) => {
        $(
            pub struct $api;

            impl $api {
                fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
                    caller(request).map(|_| ())
                }
            }
        )+
    };
}

plain_api!(CrmApi);

later_service! {
    CrmApi: CrmService {
        link_chat(LinkChatRequest) -> LinkChatResponse = "LinkChat";
        unlink_chat(UnlinkChatRequest) -> UnlinkChatResponse = "UnlinkChat";
        list_links(ListLinksRequest) -> ListLinksResponse = "ListLinks";
        suggest_links(SuggestLinksRequest) -> SuggestLinksResponse = "SuggestLinks";
        create_trigger(CreateTriggerRequest) -> CreateTriggerResponse = "CreateTrigger";
        get_trigger(GetTriggerRequest) -> GetTriggerResponse = "GetTrigger";
        list_triggers(ListTriggersRequest) -> ListTriggersResponse = "ListTriggers";
        update_trigger(UpdateTriggerRequest) -> UpdateTriggerResponse = "UpdateTrigger";
        delete_trigger(DeleteTriggerRequest) -> DeleteTriggerResponse = "DeleteTrigger";
        list_deliveries(ListDeliveriesRequest) -> ListDeliveriesResponse = "ListDeliveries";
    }
}
