// Browser test: Debian's chromium (driven by playwright-core, no browser
// download) loads a page from its own little HTTP server — another origin than
// the gateway's — and the page calls the gateway over grpc-web with the
// TypeScript SDK. Proves CORS (preflight, allowed request headers, exposed
// grpc-status / grpc-status-details-bin) works for a real browser.
//
//   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> npm test
//
// Skipped when TEZGRAM_SMOKE_ADDR is unset. CHROMIUM=/path overrides the
// browser; TEZGRAM_BROWSER_SCREENSHOT=/path.png saves the result page.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { build } from "../build.mjs";

const addr = process.env.TEZGRAM_SMOKE_ADDR;
const token = process.env.TEZGRAM_SMOKE_TOKEN ?? "";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const screenshot = process.env.TEZGRAM_BROWSER_SCREENSHOT;
const skip = addr
  ? false
  : "TEZGRAM_SMOKE_ADDR is not set (needs a running tezgram server; see scripts/browser-test.sh)";
const resultTimeoutMs = 30_000;

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".map": "application/json" };

/** Serves dist/ (page + bundle) on 127.0.0.1:<free port>; a different origin than the gateway. */
async function serveStatic(dir) {
  const files = new Map();
  for (const name of ["index.html", "page.js", "page.js.map"]) files.set(`/${name}`, await readFile(join(dir, name)));
  const served = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname.replace(/^\/$/, "/index.html");
    const body = files.get(path);
    served.push(`${req.method} ${path} ${body ? 200 : 404}`);
    if (!body) return res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}`, served };
}

let result; // the page's JSON
let preflights = []; // CORS preflights chromium sent (from CDP)
let diagnostics = []; // console messages, page errors, failed requests: shown when something fails

function explain() {
  return diagnostics.length ? `\nbrowser said:\n  ${diagnostics.join("\n  ")}` : "";
}

before(async () => {
  if (skip) return;
  assert.ok(token, "TEZGRAM_SMOKE_TOKEN is not set (a JWT the gateway accepts; `tezgram token | tail -n1`)");
  const gateway = `http://${addr}`;
  const dist = await build();
  const web = await serveStatic(dist);
  const userDataDir = await mkdtemp(join(tmpdir(), "tezgram-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => diagnostics.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => diagnostics.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    // Playwright does not report CORS preflights; the DevTools protocol does
    // (as OPTIONS requests; the page itself sends none).
    const cdp = await context.newCDPSession(page);
    cdp.on("Network.requestWillBeSent", (e) => {
      if (e.request.method === "OPTIONS") preflights.push(`${e.request.method} ${e.request.url}`);
    });
    await cdp.send("Network.enable");

    const url = `${web.origin}/#gateway=${encodeURIComponent(gateway)}&token=${encodeURIComponent(token)}`;
    await page.goto(url, { waitUntil: "load", timeout: 15_000 });
    try {
      await page.waitForSelector("body[data-done]", { timeout: resultTimeoutMs });
    } catch {
      const status = await page.textContent("#status").catch(() => "?");
      assert.fail(
        `the page did not finish its checks within ${resultTimeoutMs / 1000}s (status: ${status}; ` +
          `static server served: ${web.served.join(", ") || "nothing"})${explain()}`,
      );
    }
    result = JSON.parse(await page.textContent("#result"));
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    assert.equal(result.fatal, undefined, `the page failed: ${result.fatal}${explain()}`);
  } finally {
    await context?.close().catch(() => {});
    await new Promise((resolve) => web.server.close(resolve));
    await rm(userDataDir, { recursive: true, force: true });
  }
});

after(() => {
  if (!result) return;
  console.log(`browser: ${result.userAgent}`);
  console.log(`page ${result.pageOrigin} -> gateway ${result.gatewayOrigin}; CORS preflights: ${preflights.length}`);
});

function describe(check) {
  if (check.error) {
    const e = check.error;
    return `${e.code}: ${e.message} (details: ${e.detailTypes.join(", ") || "none"})`;
  }
  return JSON.stringify(check.observed);
}

test("the page runs on another origin than the gateway, so chromium preflights the calls", { skip }, () => {
  assert.notEqual(result.pageOrigin, result.gatewayOrigin, "page and gateway share an origin: CORS is not exercised");
  assert.ok(
    preflights.some((p) => p.startsWith(`OPTIONS ${result.gatewayOrigin}/`)),
    `chromium sent no CORS preflight (OPTIONS) to the gateway; preflights seen: ${preflights.join(", ") || "none"}`,
  );
});

test("health Check over grpc-web from the browser is SERVING", { skip }, () => {
  const c = result.checks.health;
  assert.ok(c.pass, `expected SERVING, got ${describe(c)}${explain()}`);
});

test("ListAccounts with the bearer token succeeds from the browser", { skip }, () => {
  const c = result.checks.listAccounts;
  assert.ok(
    c.pass,
    `expected OK, got ${describe(c)} — if this is a network or CORS error, the gateway may not allow ` +
      `the authorization header from another origin${explain()}`,
  );
});

test("ListAccounts without a token is Unauthenticated, and the browser can read the status", { skip }, () => {
  const c = result.checks.noToken;
  assert.ok(
    c.pass,
    `expected Connect code Unauthenticated, got ${describe(c)} — if the code is Unknown/Internal, the browser ` +
      `may not be allowed to read grpc-status (CORS Access-Control-Expose-Headers)${explain()}`,
  );
});

test("page_size -5 is InvalidArgument with readable ErrorInfo and BadRequest details", { skip }, () => {
  const c = result.checks.badPageSize;
  const e = c.error;
  assert.ok(e, `expected InvalidArgument, but the call succeeded: ${describe(c)}`);
  assert.equal(
    e.code,
    "InvalidArgument",
    `expected Connect code InvalidArgument, got ${describe(c)} — if the code is Unknown/Internal, the browser ` +
      `may not be allowed to read grpc-status (CORS Access-Control-Expose-Headers)${explain()}`,
  );
  assert.ok(
    e.detailTypes.length > 0,
    "the error reached the browser without details: grpc-status-details-bin is missing or not exposed by CORS " +
      "(Access-Control-Expose-Headers)",
  );
  assert.deepEqual(
    e.errorInfo.map((i) => [i.reason, i.domain]),
    [["INVALID_ARGUMENT", "telegram.tez.dev"]],
    `expected one google.rpc.ErrorInfo (INVALID_ARGUMENT, telegram.tez.dev); details were ${e.detailTypes.join(", ")}`,
  );
  assert.ok(
    e.fieldViolations.some((v) => v.field === "page_size"),
    `expected a google.rpc.BadRequest violation for field page_size; got ${JSON.stringify(e.fieldViolations)}`,
  );
});
