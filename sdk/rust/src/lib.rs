//! Typed Rust SDK for the tezgram gRPC API (`tez.telegram.v1`).
//!
//! Everything under [`v1`] is generated from `proto/` by `scripts/generate.sh`
//! (buf + protoc-gen-prost + protoc-gen-tonic; do not edit `src/gen/`): prost
//! messages, tonic clients (`v1::account_service_client::AccountServiceClient`, …)
//! and server traits (`v1::account_service_server::AccountService`, …).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tezgram_sdk::v1::{account_service_client::AccountServiceClient, ListAccountsRequest};
//! let mut client = AccountServiceClient::connect("http://127.0.0.1:50051").await?;
//! let mut req = tonic::Request::new(ListAccountsRequest { page_size: 10, ..Default::default() });
//! req.metadata_mut().insert("authorization", "Bearer <jwt>".parse()?);
//! let accounts = client.list_accounts(req).await?.into_inner().accounts;
//! # let _ = accounts; Ok(()) }
//! ```

/// `tez.telegram.v1`: messages, clients and server traits.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod v1 {
    include!("gen/tez.telegram.v1.rs");
}

/// Encoded `google.protobuf.FileDescriptorSet` of every tezgram proto and its
/// imports (with source comments), for gRPC server reflection
/// (`tonic_reflection::server::Builder::register_encoded_file_descriptor_set`).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("gen/tezgram.binpb");
