// Browser test of the live inbox page (sdk/typescript/inbox): Debian's chromium
// shows the page for a sandbox agent, sandbox customers write to the agent,
// and the page must show it live without a reload, send answers that reach
// Telegram once, and keep unread counts. Setup and checks from Node use the
// same SDK over grpc-web (src/inbox-setup.ts, bundled here for Node).
//
//   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> node --test test/inbox.test.mjs
//
// The page comes from TEZGRAM_INBOX_URL when it is set (the gateway serving
// its embedded copy), else from a static server over the committed
// inbox/dist (scripts/inbox-build.sh rebuilds it). Skipped when
// TEZGRAM_SMOKE_ADDR is unset. The last screen is saved to
// TEZGRAM_INBOX_SCREENSHOT, default artifacts/inbox.png.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";

import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

import { here } from "../build.mjs";

const addr = process.env.TEZGRAM_SMOKE_ADDR;
const token = process.env.TEZGRAM_SMOKE_TOKEN ?? "";
const inboxUrl = process.env.TEZGRAM_INBOX_URL;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const screenshot = process.env.TEZGRAM_INBOX_SCREENSHOT ?? join(here, "artifacts", "inbox.png");
const skip = addr
  ? false
  : "TEZGRAM_SMOKE_ADDR is not set (needs a running tezgram server; see scripts/browser-test.sh)";
const gateway = `http://${addr}`;
const waitMs = 20_000;
const run = Math.random().toString(36).slice(2, 8); // tells this run's messages apart

let fixture; // inboxFixture() from src/inbox-setup.ts
let v1; // the SDK's generated types, from the same bundle
let agent; // the agent's account (Ann)
let bob; // the customer the tests talk to
let cid; // another customer, whose chat is open while Bob writes unseen
let page;
let context;
let pageUrl; // the inbox's address, without the fragment
let web; // the static server, when TEZGRAM_INBOX_URL is unset
let relay; // the page's way to the gateway, which a test cuts
let scratch; // temp dir: the bundled setup helper and chromium's profile
const diagnostics = []; // console messages, page errors, failed requests: shown on failure

function explain() {
  return diagnostics.length ? `\nbrowser said:\n  ${diagnostics.join("\n  ")}` : "";
}

/** What the page shows, for failure messages. */
async function shown() {
  const state = await page
    .evaluate(() => ({
      status: document.querySelector("#status")?.textContent,
      chats: [...document.querySelectorAll("#chats li[data-chat-id]")].map(
        (li) => `${li.dataset.chatId}${li.classList.contains("open") ? " (open)" : ""}: ` +
          `${li.querySelector(".title")?.textContent} [${li.querySelector(".unread")?.textContent}] ` +
          `${li.querySelector(".last")?.textContent}`,
      ),
      messages: [...document.querySelectorAll("#messages li")].map(
        (li) => `${li.dataset.messageId} ${li.dataset.state}: ${li.querySelector(".text")?.textContent}`,
      ),
    }))
    .catch((err) => ({ error: String(err) }));
  return `\npage shows: ${JSON.stringify(state, null, 2)}${explain()}`;
}

/** Waits (bounded) until `predicate(arg)` holds in the page. */
async function pageShows(what, predicate, arg) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: waitMs, polling: 100 });
  } catch {
    assert.fail(`the page did not show ${what} within ${waitMs / 1000}s${await shown()}`);
  }
}

/** Polls (bounded) until `check()` resolves truthy; reports the last value seen. */
async function eventually(what, check) {
  const deadline = Date.now() + waitMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what}: not within ${waitMs / 1000}s (last seen: ${last})`);
}

const chatItem = (customer) => `#chats li[data-chat-id="${customer.chatId}"]`;

/** The page's view of a chat: its badge and last message. */
function chatShows(customer, { unread, last }) {
  return pageShows(
    `${customer.name}'s chat with badge ${unread}${last ? ` and last message "${last}"` : ""}`,
    ({ selector, unread, last }) => {
      const li = document.querySelector(selector);
      return (
        li?.querySelector(".unread")?.textContent === unread &&
        (last === undefined || li.querySelector(".last")?.textContent === last)
      );
    },
    { selector: chatItem(customer), unread: String(unread), last },
  );
}

function messageShown(text) {
  return pageShows(
    `the message "${text}" in the open chat`,
    (text) => [...document.querySelectorAll("#messages li .text")].some((t) => t.textContent === text),
    text,
  );
}

async function openChat(customer) {
  await page.click(chatItem(customer));
  await pageShows(`${customer.name}'s chat open`, (selector) => document.querySelector(selector)?.classList.contains("open"), chatItem(customer));
}

async function notReloaded() {
  const marker = await page.evaluate(() => window.__marker);
  assert.equal(marker, 1, "the page was reloaded: the marker set after the first load is gone");
}

/** A TCP relay to the gateway that the test can cut, as a network or a proxy
 *  would: `cut()` drops every connection and refuses new ones until `restore()`. */
async function startRelay(target) {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const sockets = new Set();
  let up = true;
  const track = (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const server = createTcpServer((client) => {
    if (!up) return client.destroy();
    const upstream = connect(port, host);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  const cut = () => {
    up = false;
    for (const socket of sockets) socket.destroy();
  };
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut,
    restore: () => {
      up = true;
    },
    close: () => {
      cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Serves inbox/dist on 127.0.0.1:<free port>, another origin than the gateway's. */
async function serveDist() {
  const dist = join(here, "..", "inbox", "dist");
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
  const files = new Map();
  for (const name of ["index.html", "inbox.js"]) {
    const body = await readFile(join(dist, name)).catch(() => undefined);
    assert.ok(body, `${join(dist, name)} is missing: build the page with scripts/inbox-build.sh`);
    files.set(`/${name}`, body);
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname.replace(/^\/$/, "/index.html");
    const body = files.get(path);
    if (!body) return res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": types[extname(path)], "cache-control": "no-store" }).end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

before(async () => {
  if (skip) return;
  assert.ok(token, "TEZGRAM_SMOKE_TOKEN is not set (a JWT the gateway accepts; `tezgram token | tail -n1`)");
  scratch = await mkdtemp(join(tmpdir(), "tezgram-inbox-"));
  const setup = join(scratch, "inbox-setup.mjs");
  await esbuild.build({
    entryPoints: [join(here, "src", "inbox-setup.ts")],
    outfile: setup,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
  const helper = await import(pathToFileURL(setup).href);
  fixture = helper.inboxFixture(gateway, token);
  v1 = helper.v1;

  agent = await fixture.loginAgent("Ann");
  // Both chats exist before the page opens; Cid wrote last, so Cid's is on top.
  bob = await fixture.customerWrites("Bob", agent.accountId, `hi, Bob here (${run})`);
  cid = await fixture.customerWrites("Cid", agent.accountId, `hi, Cid here (${run})`);

  let origin = inboxUrl?.replace(/\/+$/, "");
  if (!origin) {
    web = await serveDist();
    origin = web.origin;
  }
  context = await chromium.launchPersistentContext(join(scratch, "chromium"), {
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1100, height: 700 },
    timeout: 30_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => diagnostics.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => diagnostics.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));

  relay = await startRelay(addr);
  pageUrl = `${origin}/`;
  const fragment = new URLSearchParams({ gateway: relay.url, token, account: agent.accountId });
  await page.goto(`${pageUrl}#${fragment}`, { waitUntil: "load", timeout: 15_000 });
  await pageShows('status "live"', () => document.querySelector("#status")?.textContent === "live");
  await chatShows(bob, { unread: 1 });
  await chatShows(cid, { unread: 1 });
  await page.evaluate(() => {
    window.__marker = 1;
  });
});

after(async () => {
  if (page && screenshot) {
    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  }
  await context?.close().catch(() => {});
  if (web) await new Promise((resolve) => web.server.close(resolve));
  await relay?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test("a customer's message shows up live in the chat list and in the open chat, without a reload", { skip }, async () => {
  const hello = `hello from bob ${run}`;
  await fixture.write(bob, agent.accountId, hello);
  await chatShows(bob, { unread: 2, last: hello });
  await pageShows(
    "Bob's chat moved to the top",
    (selector) => document.querySelector("#chats li[data-chat-id]") === document.querySelector(selector),
    chatItem(bob),
  );

  await openChat(bob);
  await messageShown(hello);
  await chatShows(bob, { unread: 0 });

  const more = `are you there? ${run}`;
  await fixture.write(bob, agent.accountId, more);
  await messageShown(more);
  await chatShows(bob, { unread: 0, last: more });
  await notReloaded();
});

test("an answer sent from the page is shown once and reaches Telegram as SENT", { skip }, async () => {
  const answer = `answer from ann ${run}`;
  await page.fill("#send-text", answer);
  await page.click("#send-button");
  await pageShows(
    `the answer "${answer}" as sent, with its Telegram id`,
    (text) =>
      [...document.querySelectorAll("#messages li")].some(
        (li) => li.querySelector(".text")?.textContent === text && li.dataset.state === "sent" && li.dataset.messageId !== "0",
      ),
    answer,
  );

  await eventually(`ListMessages holds "${answer}" as an outgoing SENT message`, async () => {
    const messages = await fixture.messagesOf(agent.accountId, bob.chatId);
    const m = messages.find((m) => m.text === answer);
    return m?.outgoing && m.state === v1.MessageState.SENT ? true : JSON.stringify(m?.state);
  });

  // The answer's own MessageCreated event came before this later message's:
  // once this one shows, the page has seen both copies of the answer.
  const later = `thanks! ${run}`;
  await fixture.write(bob, agent.accountId, later);
  await messageShown(later);
  const copies = await page.$$eval("#messages li .text", (texts, answer) => texts.filter((t) => t.textContent === answer).length, answer);
  assert.equal(copies, 1, `the answer shows ${copies} times${await shown()}`);
  await notReloaded();
});

test("messages to a chat that is not open raise its badge; opening the chat clears it and marks it read", { skip }, async () => {
  await openChat(cid);
  const first = `one more thing ${run}`;
  const second = `and another ${run}`;
  await fixture.write(bob, agent.accountId, first);
  await fixture.write(bob, agent.accountId, second);
  await chatShows(bob, { unread: 2, last: second });

  await openChat(bob);
  await messageShown(second);
  await chatShows(bob, { unread: 0 });
  await eventually("ListChats reports Bob's chat read (unread_count 0)", async () => {
    const chat = await fixture.chatOf(agent.accountId, bob.chatId);
    return chat?.unreadCount === 0 ? true : `unread_count ${chat?.unreadCount}`;
  });
  await notReloaded();
});

test("after the stream breaks, the page resumes from its cursor: nothing written meanwhile is missed or doubled", { skip }, async () => {
  relay.cut();
  await pageShows(
    'status "reconnecting" once the connection is gone',
    () => document.querySelector("#status")?.dataset.state === "reconnecting",
  );
  const meanwhile = `written while the agent was cut off ${run}`;
  await fixture.write(bob, agent.accountId, meanwhile);
  relay.restore();
  await pageShows('status "live" again', () => document.querySelector("#status")?.textContent === "live");
  await messageShown(meanwhile);
  const copies = await page.$$eval("#messages li .text", (texts, text) => texts.filter((t) => t.textContent === text).length, meanwhile);
  assert.equal(copies, 1, `the message shows ${copies} times${await shown()}`);
  await chatShows(bob, { unread: 0, last: meanwhile });
  await notReloaded();
});

test("without a token in the URL, the page asks for one and shows the inbox once it is pasted", { skip }, async () => {
  // A new tab: its sessionStorage does not have the token the first tab kept.
  const tab = await context.newPage();
  try {
    const fragment = new URLSearchParams({ gateway: relay.url, account: agent.accountId });
    await tab.goto(`${pageUrl}#${fragment}`, { waitUntil: "load", timeout: 15_000 });
    await tab.waitForSelector("#token-input", { state: "visible", timeout: waitMs });
    await tab.fill("#token-input", token);
    await tab.click("#token-form button[type=submit]");
    await tab.waitForFunction(() => document.querySelector("#status")?.textContent === "live", null, { timeout: waitMs });
    await tab.waitForSelector(chatItem(bob), { timeout: waitMs });
    assert.equal(await tab.isVisible("#token-form"), false, "the token form is still shown");
    const kept = await tab.evaluate(() => Object.values(sessionStorage));
    assert.ok(kept.includes(token), "the pasted token was not kept in sessionStorage");
  } catch (err) {
    const status = await tab.textContent("#status").catch(() => "?");
    throw new Error(`${err.message} (status: ${status})${explain()}`);
  } finally {
    await tab.close();
  }
});
