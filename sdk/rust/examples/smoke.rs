//! Smoke test of the Rust SDK against a running tezgram server.
//!
//! ```sh
//! TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> \
//!   cargo run -p tezgram-sdk --example smoke
//! ```
//!
//! Checks: health Check("") is SERVING; ListAccounts with the token succeeds;
//! without it fails UNAUTHENTICATED; with page_size -5 fails INVALID_ARGUMENT.
//! Exits non-zero on the first failure.

use std::process::ExitCode;

use tezgram_sdk::v1::{ListAccountsRequest, account_service_client::AccountServiceClient};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn list_request(
    page_size: i32,
    token: Option<&str>,
) -> Result<Request<ListAccountsRequest>, Error> {
    let mut req = Request::new(ListAccountsRequest {
        page_size,
        ..Default::default()
    });
    if let Some(token) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    Ok(req)
}

async fn expect_code(
    client: &mut AccountServiceClient<Channel>,
    req: Request<ListAccountsRequest>,
    want: Code,
) -> Result<(), Error> {
    match client.list_accounts(req).await {
        Ok(_) => Err(format!("ListAccounts succeeded, want {want:?}").into()),
        Err(status) if status.code() == want => Ok(()),
        Err(status) => Err(format!("ListAccounts failed with {status:?}, want {want:?}").into()),
    }
}

async fn run() -> Result<(), Error> {
    let addr = std::env::var("TEZGRAM_SMOKE_ADDR").map_err(|_| "TEZGRAM_SMOKE_ADDR is not set")?;
    let token =
        std::env::var("TEZGRAM_SMOKE_TOKEN").map_err(|_| "TEZGRAM_SMOKE_TOKEN is not set")?;
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(10))
        .connect()
        .await?;

    // (a) health
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    if health.status() != ServingStatus::Serving {
        return Err(format!("health status {:?}, want SERVING", health.status()).into());
    }
    println!("ok   health Check(\"\") = SERVING");

    let mut accounts = AccountServiceClient::new(channel);
    // (b) authorized list
    let resp = accounts
        .list_accounts(list_request(10, Some(&token))?)
        .await?
        .into_inner();
    println!(
        "ok   ListAccounts with token: {} account(s)",
        resp.accounts.len()
    );
    // (c) no token
    expect_code(
        &mut accounts,
        list_request(10, None)?,
        Code::Unauthenticated,
    )
    .await?;
    println!("ok   ListAccounts without token = UNAUTHENTICATED");
    // (d) invalid page size
    expect_code(
        &mut accounts,
        list_request(-5, Some(&token))?,
        Code::InvalidArgument,
    )
    .await?;
    println!("ok   ListAccounts page_size=-5 = INVALID_ARGUMENT");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("rust smoke: 4 passed, 0 failed");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("rust smoke: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}
