// MediaService over grpc-web, as a browser uses it (grpc-web has no client
// streaming, so uploads go chunk by chunk) against a running server:
//
//   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> npm run smoke
//
// A 50 MB file is uploaded with a simulated page reload half way (a new
// client asks GetUpload where to go on), sent as a document to another
// account, and that account downloads it — resuming a broken download
// from an offset — byte-identical; its signed link serves a byte range.
// Skipped when TEZGRAM_SMOKE_ADDR is unset.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";

import { createClient, createWebTransport, v1 } from "../src/index.js";

const addr = process.env.TEZGRAM_SMOKE_ADDR;
const token = process.env.TEZGRAM_SMOKE_TOKEN ?? "";
const skip = addr ? false : "TEZGRAM_SMOKE_ADDR is not set (needs a running tezgram server)";
const baseUrl = `http://${addr}`;

const CHUNK = 524_288;
const SIZE = 50 * 1024 * 1024 + 12_345;

/// clients are what one page load makes: a transport and its clients.
function clients() {
  const transport = createWebTransport({ baseUrl, token });
  return {
    accounts: createClient(v1.AccountService, transport),
    sandbox: createClient(v1.SandboxService, transport),
    chats: createClient(v1.ChatService, transport),
    messages: createClient(v1.MessageService, transport),
    media: createClient(v1.MediaService, transport),
  };
}
type Clients = ReturnType<typeof clients>;

/// account makes a sandbox user (99966XYYYY: its code is X five times) and
/// logs it in.
async function account(c: Clients, phone: string, firstName: string) {
  const { sandboxUser } = await c.sandbox.createSandboxUser({ phoneNumber: phone, firstName, lastName: "Web" });
  const { account } = await c.accounts.startLogin({ credential: { case: "phoneNumber", value: phone } });
  await c.accounts.submitCode({ accountId: account!.accountId, code: phone[5].repeat(5) });
  return { accountId: account!.accountId, userId: sandboxUser!.userId, phone };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 240; i++) {
    const found = await check().catch(() => undefined);
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting until ${what}`);
}

test("grpc-web: a 50 MB upload survives a reload, is sent, and downloads byte-identical", { skip, timeout: 300_000 }, async () => {
  let c = clients();
  const tail = String(1000 + Math.floor(Math.random() * 8999));
  const ann = await account(c, `999662${tail}`, "Ann");
  const bob = await account(c, `999661${tail}`, "Bob");
  const file = randomBytes(SIZE);
  const digest = sha256(file);
  const chunk = (offset: number) => file.subarray(offset, Math.min(SIZE, offset + CHUNK));

  const { upload } = await c.media.createUpload({
    accountId: ann.accountId,
    fileName: "contract.pdf",
    mimeType: "application/pdf",
    sizeBytes: BigInt(SIZE),
    sha256: digest,
    requestId: `web-upload-${tail}`,
  });
  const uploadId = upload!.uploadId;
  assert.equal(upload!.chunkSize, CHUNK);
  const half = Math.floor(SIZE / CHUNK / 2) * CHUNK;
  for (let offset = 0; offset < half; offset += CHUNK) {
    await c.media.uploadChunk({ uploadId, offset: BigInt(offset), data: chunk(offset) });
  }

  // The page reloads: a new client asks where the upload stands.
  c = clients();
  const { upload: stands } = await c.media.getUpload({ uploadId });
  assert.equal(Number(stands!.receivedBytes), half);
  for (let offset = half; offset < SIZE; offset += CHUNK) {
    await c.media.uploadChunk({ uploadId, offset: BigInt(offset), data: chunk(offset) });
  }
  const { media } = await c.media.completeUpload({ uploadId });
  assert.equal(media!.sha256, digest);
  assert.equal(Number(media!.sizeBytes), SIZE);

  // Ann sends it to Bob as a document.
  const { chat } = await c.chats.resolveChat({
    accountId: ann.accountId,
    target: { case: "phoneNumber", value: bob.phone },
    firstName: "Bob",
  });
  const { message } = await c.messages.sendMessage({
    accountId: ann.accountId,
    chatId: chat!.chatId,
    text: "the signed contract",
    mediaId: media!.mediaId,
    sendAs: v1.MediaKind.DOCUMENT,
    requestId: `web-send-${tail}`,
  });
  assert.notEqual(message!.state, v1.MessageState.FAILED);

  // Bob's account receives it, and downloads it in two goes.
  const received = await eventually("Bob's account has the file", async () => {
    const { messages } = await c.messages.listMessages({ accountId: bob.accountId, chatId: ann.userId, pageSize: 10 });
    return messages.find((m) => m.media?.mediaId);
  });
  assert.equal(Number(received.media!.sizeBytes), SIZE);
  const got = new Uint8Array(SIZE);
  let have = 0;
  const broken = new AbortController();
  await assert.rejects(
    (async () => {
      const stream = c.media.downloadMedia(
        { accountId: bob.accountId, source: { case: "mediaId", value: received.media!.mediaId } },
        { signal: broken.signal },
      );
      for await (const part of stream) {
        got.set(part.data, Number(part.offset));
        have = Number(part.offset) + part.data.length;
        if (have >= 3 * CHUNK) broken.abort(new Error("the connection broke"));
      }
    })(),
  );
  assert.ok(have > 0 && have < SIZE, `broke half way: ${have}`);
  let first: v1.Media | undefined;
  for await (const part of c.media.downloadMedia({
    accountId: bob.accountId,
    source: { case: "mediaId", value: received.media!.mediaId },
    offset: BigInt(have),
  })) {
    assert.equal(Number(part.offset), have, "chunks are contiguous");
    first ??= part.media;
    got.set(part.data, have);
    have += part.data.length;
  }
  assert.equal(have, SIZE);
  assert.equal(sha256(got), digest, "Bob's bytes differ from Ann's");

  // Its signed link serves a range to a plain HTTP client (an <img>, a CDN).
  const url = first?.downloadUrl ?? "";
  assert.ok(url, "the server signs links (media.links_listen)");
  const response = await fetch(url, { headers: { range: "bytes=100-199" } });
  assert.equal(response.status, 206);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array(file.subarray(100, 200)));
  const bent = url.slice(0, -2) + (url.endsWith("AA") ? "BB" : "AA");
  assert.equal((await fetch(bent)).status, 403);
});
