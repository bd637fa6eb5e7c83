"""Typed Python client for the tezgram gRPC API (``tez.telegram.v1``).

The generated stubs live in the ``tez.telegram.v1`` package of this
distribution (``tez.telegram.v1.account_pb2``, ``account_pb2_grpc``, ...);
``tezgram_sdk.v1`` re-exports every generated module. This module adds small
helpers for channels and bearer-token authentication::

    import tezgram_sdk
    from tezgram_sdk.v1 import account_pb2, account_pb2_grpc

    channel = tezgram_sdk.channel("127.0.0.1:50051", token=jwt)
    stub = account_pb2_grpc.AccountServiceStub(channel)
    resp = stub.ListAccounts(account_pb2.ListAccountsRequest(page_size=10))
"""

from __future__ import annotations

from typing import Optional

import grpc

__all__ = ["bearer_metadata", "BearerTokenInterceptor", "channel"]


def bearer_metadata(token: str) -> list[tuple[str, str]]:
    """Call metadata that authenticates with a JWT: ``authorization: Bearer <token>``."""
    return [("authorization", f"Bearer {token}")]


class BearerTokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call."""

    def __init__(self, token: str) -> None:
        self._metadata = bearer_metadata(token)

    def _details(self, details):  # type: ignore[no-untyped-def]
        metadata = list(details.metadata or []) + self._metadata
        return _CallDetails(
            details.method, details.timeout, metadata, details.credentials,
            getattr(details, "wait_for_ready", None), getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request_iterator)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):  # type: ignore[no-untyped-def]
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def channel(
    target: str,
    *,
    token: Optional[str] = None,
    credentials: Optional[grpc.ChannelCredentials] = None,
) -> grpc.Channel:
    """A channel to ``target`` (host:port): plaintext unless ``credentials`` are
    given; with ``token``, every call carries it as a bearer token."""
    ch = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    if token:
        ch = grpc.intercept_channel(ch, BearerTokenInterceptor(token))
    return ch
