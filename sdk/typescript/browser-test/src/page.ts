// The page under test: runs in Chromium, served from an origin other than the
// gateway's, and calls the gateway over grpc-web with the TypeScript SDK (bundled
// from ../src). Parameters come from the URL fragment (never sent to the static
// server): #gateway=http://127.0.0.1:50051&token=<jwt>
//
// It records what it observed as JSON in <pre id="result"> and sets
// <body data-done="1">; test/browser.test.mjs asserts on that JSON.
import { Code, ConnectError, createClient, createWebTransport, healthV1, v1 } from "../../src/index.js";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

const timeoutMs = 10_000;

export interface Failure {
  /** Connect code name, e.g. "Unauthenticated". */
  code: string;
  message: string;
  /** Type names of the error details as received (google.rpc.ErrorInfo, ...). */
  detailTypes: string[];
  /** Decoded google.rpc.ErrorInfo details. */
  errorInfo: { reason: string; domain: string; metadata: Record<string, string> }[];
  /** Decoded google.rpc.BadRequest field violations. */
  fieldViolations: { field: string; description: string; reason: string }[];
}

export interface Check {
  name: string;
  expected: string;
  pass: boolean;
  /** What happened: the response summary, or the error. */
  observed: Record<string, unknown>;
  error?: Failure;
}

export interface Result {
  pageOrigin: string;
  gatewayOrigin: string;
  userAgent: string;
  checks: Record<"health" | "listAccounts" | "noToken" | "badPageSize", Check>;
  fatal?: string;
}

function failure(err: unknown): Failure {
  const e = ConnectError.from(err);
  return {
    code: Code[e.code] ?? String(e.code),
    message: e.rawMessage,
    detailTypes: e.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)),
    errorInfo: e.findDetails(ErrorInfoSchema).map((i) => ({ reason: i.reason, domain: i.domain, metadata: i.metadata })),
    fieldViolations: e
      .findDetails(BadRequestSchema)
      .flatMap((b) => b.fieldViolations)
      .map((v) => ({ field: v.field, description: v.description, reason: v.reason })),
  };
}

async function check(
  name: string,
  expected: string,
  call: () => Promise<Record<string, unknown>>,
  judge: (observed: Record<string, unknown>, error?: Failure) => boolean,
): Promise<Check> {
  try {
    const observed = await call();
    return { name, expected, observed, pass: judge(observed) };
  } catch (err) {
    const error = failure(err);
    return { name, expected, observed: {}, error, pass: judge({}, error) };
  }
}

async function run(gateway: string, token: string): Promise<Result> {
  const anonymous = createWebTransport({ baseUrl: gateway });
  const authed = createWebTransport({ baseUrl: gateway, token });
  const health = createClient(healthV1.Health, anonymous);
  const accountsAuthed = createClient(v1.AccountService, authed);
  const accountsAnonymous = createClient(v1.AccountService, anonymous);

  const checks = {
    health: await check(
      "health Check(\"\") over grpc-web",
      "SERVING",
      async () => {
        const res = await health.check({ service: "" }, { timeoutMs });
        return { status: healthV1.HealthCheckResponse_ServingStatus[res.status] };
      },
      (o) => o.status === "SERVING",
    ),
    listAccounts: await check(
      "AccountService.ListAccounts with the bearer token",
      "OK",
      async () => {
        const res = await accountsAuthed.listAccounts({ pageSize: 10 }, { timeoutMs });
        return { accounts: res.accounts.length, nextPageToken: res.nextPageToken };
      },
      (o, e) => !e && typeof o.accounts === "number",
    ),
    noToken: await check(
      "AccountService.ListAccounts without a token",
      "Unauthenticated",
      async () => {
        await accountsAnonymous.listAccounts({ pageSize: 10 }, { timeoutMs });
        return { unexpected: "the call succeeded" };
      },
      (_o, e) => e?.code === "Unauthenticated",
    ),
    badPageSize: await check(
      "AccountService.ListAccounts page_size=-5",
      "InvalidArgument + ErrorInfo(INVALID_ARGUMENT, telegram.tez.dev) + BadRequest(page_size)",
      async () => {
        await accountsAuthed.listAccounts({ pageSize: -5 }, { timeoutMs });
        return { unexpected: "the call succeeded" };
      },
      (_o, e) =>
        e?.code === "InvalidArgument" &&
        e.errorInfo.some((i) => i.reason === "INVALID_ARGUMENT" && i.domain === "telegram.tez.dev") &&
        e.fieldViolations.some((v) => v.field === "page_size"),
    ),
  };
  return { pageOrigin: location.origin, gatewayOrigin: new URL(gateway).origin, userAgent: navigator.userAgent, checks };
}

function render(result: Result): void {
  const el = (id: string) => document.getElementById(id)!;
  el("origins").textContent = `page origin ${result.pageOrigin} → gateway ${result.gatewayOrigin}`;
  const rows = Object.values(result.checks).map((c) => {
    const tr = document.createElement("tr");
    const got = c.error
      ? `${c.error.code}: ${c.error.message}` +
        (c.error.detailTypes.length ? `\ndetails: ${c.error.detailTypes.join(", ")}` : "") +
        c.error.errorInfo.map((i) => `\nErrorInfo reason=${i.reason} domain=${i.domain}`).join("") +
        c.error.fieldViolations.map((v) => `\nBadRequest ${v.field}: ${v.description}`).join("")
      : JSON.stringify(c.observed);
    for (const [text, cls] of [
      [c.pass ? "PASS" : "FAIL", c.pass ? "pass" : "fail"],
      [c.name, ""],
      [c.expected, ""],
      [got, ""],
    ]) {
      const td = document.createElement("td");
      td.textContent = text;
      td.style.whiteSpace = "pre-wrap";
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  });
  const head = document.createElement("tr");
  for (const h of ["", "check", "expected", "observed"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  el("checks").replaceChildren(head, ...rows);
  const passed = Object.values(result.checks).filter((c) => c.pass).length;
  el("status").textContent = result.fatal ?? `${passed} of ${Object.keys(result.checks).length} checks passed`;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.hash.slice(1));
  const gateway = params.get("gateway") ?? "";
  const token = params.get("token") ?? "";
  let result: Result;
  try {
    if (!gateway) throw new Error("no #gateway=… in the page URL");
    result = await run(gateway, token);
    render(result);
  } catch (err) {
    result = { fatal: String(err) } as Result;
    document.getElementById("status")!.textContent = `fatal: ${String(err)}`;
  }
  document.getElementById("result")!.textContent = JSON.stringify(result, null, 2);
  document.body.dataset.done = "1";
}

void main();
