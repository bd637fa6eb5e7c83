"""Smoke test of the Python SDK against a running tezgram server.

    TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> pytest sdk/python

Skipped when TEZGRAM_SMOKE_ADDR is unset.
"""

import os

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import tezgram_sdk
from tez.telegram.v1 import account_pb2, account_pb2_grpc

ADDR = os.environ.get("TEZGRAM_SMOKE_ADDR")
TOKEN = os.environ.get("TEZGRAM_SMOKE_TOKEN", "")

pytestmark = pytest.mark.skipif(
    not ADDR, reason="TEZGRAM_SMOKE_ADDR is not set (needs a running tezgram server)"
)

TIMEOUT = 10


@pytest.fixture(scope="module")
def channel():
    ch = tezgram_sdk.channel(ADDR)
    yield ch
    ch.close()


def test_health_serving(channel):
    resp = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT
    )
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_list_accounts_with_token():
    assert TOKEN, "TEZGRAM_SMOKE_TOKEN is not set"
    with tezgram_sdk.channel(ADDR, token=TOKEN) as ch:
        resp = account_pb2_grpc.AccountServiceStub(ch).ListAccounts(
            account_pb2.ListAccountsRequest(page_size=10), timeout=TIMEOUT
        )
    assert isinstance(resp, account_pb2.ListAccountsResponse)


def test_list_accounts_without_token_unauthenticated(channel):
    with pytest.raises(grpc.RpcError) as err:
        account_pb2_grpc.AccountServiceStub(channel).ListAccounts(
            account_pb2.ListAccountsRequest(page_size=10), timeout=TIMEOUT
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_list_accounts_negative_page_size_invalid_argument(channel):
    with pytest.raises(grpc.RpcError) as err:
        account_pb2_grpc.AccountServiceStub(channel).ListAccounts(
            account_pb2.ListAccountsRequest(page_size=-5),
            metadata=tezgram_sdk.bearer_metadata(TOKEN),
            timeout=TIMEOUT,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
