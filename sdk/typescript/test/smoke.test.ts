// Smoke test of the TypeScript SDK over grpc-web against a running server:
//
//   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> npm run smoke
//
// Skipped when TEZGRAM_SMOKE_ADDR is unset.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Code, ConnectError, createClient, createWebTransport, healthV1, v1 } from "../src/index.js";

const addr = process.env.TEZGRAM_SMOKE_ADDR;
const token = process.env.TEZGRAM_SMOKE_TOKEN ?? "";
const skip = addr ? false : "TEZGRAM_SMOKE_ADDR is not set (needs a running tezgram server)";
const baseUrl = `http://${addr}`;
const timeoutMs = 10_000;

async function expectCode(call: Promise<unknown>, code: Code): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    const e = ConnectError.from(err);
    assert.equal(Code[e.code], Code[code], `got ${Code[e.code]}: ${e.rawMessage}`);
    return true;
  });
}

test("grpc-web: health Check(\"\") is SERVING", { skip }, async () => {
  const health = createClient(healthV1.Health, createWebTransport({ baseUrl }));
  const res = await health.check({ service: "" }, { timeoutMs });
  assert.equal(res.status, healthV1.HealthCheckResponse_ServingStatus.SERVING);
});

test("grpc-web: ListAccounts with token succeeds", { skip }, async () => {
  assert.ok(token, "TEZGRAM_SMOKE_TOKEN is not set");
  const accounts = createClient(v1.AccountService, createWebTransport({ baseUrl, token }));
  const res = await accounts.listAccounts({ pageSize: 10 }, { timeoutMs });
  assert.ok(Array.isArray(res.accounts));
});

test("grpc-web: ListAccounts without token is UNAUTHENTICATED", { skip }, async () => {
  const accounts = createClient(v1.AccountService, createWebTransport({ baseUrl }));
  await expectCode(accounts.listAccounts({ pageSize: 10 }, { timeoutMs }), Code.Unauthenticated);
});

test("grpc-web: ListAccounts page_size=-5 is INVALID_ARGUMENT", { skip }, async () => {
  const accounts = createClient(v1.AccountService, createWebTransport({ baseUrl, token }));
  await expectCode(accounts.listAccounts({ pageSize: -5 }, { timeoutMs }), Code.InvalidArgument);
});

test("grpc-web: Subscribe streams heartbeats with a cursor and refuses a bad cursor", { skip }, async () => {
  const updates = createClient(v1.UpdateService, createWebTransport({ baseUrl, token }));
  // With nothing happening, a heartbeat comes within the server's heartbeat
  // interval (15 s by default). Our own deadline and abort rather than
  // timeoutMs: leaving the loop ends neither the fetch nor Connect's deadline
  // timer under Node, and either keeps the test process alive.
  const done = new AbortController();
  const deadline = setTimeout(() => done.abort(new Error("no heartbeat within 25 s")), 25_000);
  let heartbeat: v1.Event | undefined;
  try {
    for await (const { event } of updates.subscribe({}, { signal: done.signal })) {
      assert.ok(event?.cursor, `an event without a cursor: ${event?.payload.case}`);
      if (event.payload.case === "heartbeat") {
        heartbeat = event;
        break;
      }
    }
  } finally {
    clearTimeout(deadline);
    done.abort();
  }
  assert.ok(heartbeat, "the stream ended without a heartbeat");

  const drain = async (stream: AsyncIterable<unknown>) => {
    for await (const _ of stream);
  };
  await expectCode(drain(updates.subscribe({ cursor: "garbage" }, { timeoutMs })), Code.InvalidArgument);
});

test("grpc-web: preferences round-trip and the audit log lists entries newest first", { skip }, async () => {
  const transport = createWebTransport({ baseUrl, token });
  const preferences = createClient(v1.PreferenceService, transport);
  // The gateway is shared with the tests after this one (the browser test
  // sends as the same caller): what is changed here is put back.
  const before = (await preferences.getPreferences({}, { timeoutMs })).preferences;
  try {
    const updated = await preferences.updatePreferences(
      {
        preferences: { signature: "— the SDK smoke test", notifyEventKinds: [v1.EventKind.MESSAGE_CREATED] },
        updateMask: { paths: ["signature", "notify_event_kinds"] },
      },
      { timeoutMs },
    );
    assert.equal(updated.preferences?.signature, "— the SDK smoke test");
    const read = await preferences.getPreferences({}, { timeoutMs });
    assert.deepEqual(read.preferences?.notifyEventKinds, [v1.EventKind.MESSAGE_CREATED]);
    await expectCode(preferences.updatePreferences({ updateMask: { paths: ["theme"] } }, { timeoutMs }), Code.InvalidArgument);
  } finally {
    await preferences.updatePreferences(
      {
        preferences: { signature: before?.signature ?? "", notifyEventKinds: before?.notifyEventKinds ?? [] },
        updateMask: { paths: ["signature", "notify_event_kinds"] },
      },
      { timeoutMs },
    );
  }
  const restored = await preferences.getPreferences({}, { timeoutMs });
  assert.equal(restored.preferences?.signature, before?.signature ?? "");

  const audit = createClient(v1.AuditService, transport);
  const { entries } = await audit.listAuditEntries({ pageSize: 50 }, { timeoutMs });
  for (let i = 1; i < entries.length; i++) {
    assert.ok(entries[i - 1].entryId > entries[i].entryId, "newest first");
  }
  await expectCode(audit.listAuditEntries({ actions: [v1.AuditAction.UNSPECIFIED] }, { timeoutMs }), Code.InvalidArgument);
});
