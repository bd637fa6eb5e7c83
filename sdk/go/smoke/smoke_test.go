// Package smoke is the Go SDK's smoke test against a running tezgram server:
//
//	TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> go test ./smoke/ -v
//
// Skipped when TEZGRAM_SMOKE_ADDR is unset.
package smoke

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	telegramv1 "github.com/tez-crm/tezgram/sdk/go/tez/telegram/v1"
)

func setup(t *testing.T) (*grpc.ClientConn, string, context.Context) {
	t.Helper()
	addr := os.Getenv("TEZGRAM_SMOKE_ADDR")
	if addr == "" {
		t.Skip("TEZGRAM_SMOKE_ADDR is not set (needs a running tezgram server)")
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return conn, os.Getenv("TEZGRAM_SMOKE_TOKEN"), ctx
}

func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
}

func TestHealthServing(t *testing.T) {
	conn, _, ctx := setup(t)
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: ""})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status %v, want SERVING", resp.GetStatus())
	}
}

func TestListAccountsWithToken(t *testing.T) {
	conn, token, ctx := setup(t)
	if token == "" {
		t.Fatal("TEZGRAM_SMOKE_TOKEN is not set")
	}
	resp, err := telegramv1.NewAccountServiceClient(conn).ListAccounts(
		withToken(ctx, token), &telegramv1.ListAccountsRequest{PageSize: 10})
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	t.Logf("%d account(s)", len(resp.GetAccounts()))
}

func TestListAccountsWithoutTokenUnauthenticated(t *testing.T) {
	conn, _, ctx := setup(t)
	_, err := telegramv1.NewAccountServiceClient(conn).ListAccounts(ctx, &telegramv1.ListAccountsRequest{PageSize: 10})
	wantCode(t, err, codes.Unauthenticated)
}

func TestListAccountsNegativePageSizeInvalidArgument(t *testing.T) {
	conn, token, ctx := setup(t)
	_, err := telegramv1.NewAccountServiceClient(conn).ListAccounts(
		withToken(ctx, token), &telegramv1.ListAccountsRequest{PageSize: -5})
	wantCode(t, err, codes.InvalidArgument)
}
