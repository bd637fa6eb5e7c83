// The live inbox: a small page for CRM agents, built on the TypeScript SDK. It
// lists an account's chats, shows one chat's messages, sends answers, and
// follows UpdateService.Subscribe over grpc-web, resuming from the last cursor
// after any break, so it never needs a reload.
//
// The gateway serves the built page (dist/, embedded in its binary). It is
// configured from the URL fragment, which never reaches a server:
//   #gateway=http://127.0.0.1:50051&token=<jwt>&account=<account uuid>
// `gateway` defaults to http://127.0.0.1:50051; without `token` the page asks
// for one and keeps it in sessionStorage; `account` picks the account shown
// (else the first authorized one).
import { create } from "@bufbuild/protobuf";
import { timestampNow, type Timestamp } from "@bufbuild/protobuf/wkt";

import { Code, ConnectError, createClient, createWebTransport, v1 } from "../../src/index.js";

const defaultGateway = "http://127.0.0.1:50051";
const tokenKey = "tezgram-inbox-token";
const callTimeoutMs = 15_000;
const maxBackoffMs = 10_000;
// The server sends a heartbeat about every 15 s: a stream silent for this long
// is dead even when no error reached the page (a proxy may hold it open).
const silenceMs = 60_000;

type Clients = ReturnType<typeof connect>;

function connect(gateway: string, token: string) {
  const transport = createWebTransport({ baseUrl: gateway, token });
  return {
    accounts: createClient(v1.AccountService, transport),
    chats: createClient(v1.ChatService, transport),
    messages: createClient(v1.MessageService, transport),
    updates: createClient(v1.UpdateService, transport),
  };
}

/** What the page shows of one account; replaced when another account is picked. */
interface View {
  accountId: string;
  /** Chats by chat key (the chat_id as a string). */
  chats: Map<string, v1.Chat>;
  /** Chat keys, newest first. */
  order: string[];
  /** The open chat's key, if a chat is open. */
  open?: string;
  /** The open chat's messages, oldest first; PENDING sends (message_id 0) last. */
  messages: v1.Message[];
  /** The last cursor seen, heartbeats included: where a reconnect resumes. */
  cursor: string;
  /** The chat list's load, started once the stream is up; events wait for it. */
  loaded?: Promise<boolean>;
  /** Aborted when another account is picked: ends this view's stream and calls. */
  stop: AbortController;
}

let clients: Clients;
let view: View | undefined;

const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const chatKey = (chatId: bigint) => String(chatId);
const describe = (err: unknown) => {
  const e = ConnectError.from(err);
  return `${Code[e.code] ?? e.code}: ${e.rawMessage}`;
};

function setStatus(state: "connecting" | "live" | "reconnecting" | "error", detail = ""): void {
  const status = el("status");
  status.dataset.state = state;
  status.textContent = detail ? `${state}: ${detail}` : state;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

// --- rendering ---------------------------------------------------------------

function span(className: string, text: string, tag: "span" | "li" = "span"): HTMLElement {
  const s = document.createElement(tag);
  s.className = className;
  s.textContent = text;
  return s;
}

function preview(m: v1.Message | undefined): string {
  if (!m) return "";
  if (m.action) return "[service message]";
  return m.text || (m.media ? "[media]" : "");
}

function timeOf(ts: Timestamp | undefined): string {
  if (!ts) return "";
  return new Date(Number(ts.seconds) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "Deal D-123" for a chat linked to the CRM record CRM_ENTITY_TYPE_DEAL D-123. */
function linkLabel(entity: v1.LinkedEntity): string {
  const kind = entity.type.replace(/^CRM_ENTITY_TYPE_/, "").toLowerCase();
  return `${kind.charAt(0).toUpperCase()}${kind.slice(1)} ${entity.id}`;
}

// Both renderers ignore a view that is no longer shown: a call that was
// answered just before its account was switched away from may still land.
function renderChats(v: View): void {
  if (v !== view) return;
  const items: HTMLElement[] = v.order.flatMap((key) => {
    const chat = v.chats.get(key);
    if (!chat) return [];
    const li = document.createElement("li");
    li.dataset.chatId = key;
    if (key === v.open) li.className = "open";
    const unread = span("unread", String(chat.unreadCount));
    unread.dataset.count = String(chat.unreadCount);
    li.append(span("title", chat.title || key), unread, span("last", preview(chat.lastMessage)));
    if (chat.linkedEntities.length) li.append(span("links", chat.linkedEntities.map(linkLabel).join(" · ")));
    return [li];
  });
  if (!items.length) items.push(span("empty", "no chats yet", "li"));
  el("chats").replaceChildren(...items);
}

function renderMessages(v: View): void {
  if (v !== view) return;
  const items = v.messages.map((m) => {
    const li = document.createElement("li");
    li.dataset.messageId = String(m.messageId);
    if (m.requestId) li.dataset.requestId = m.requestId;
    const state = (v1.MessageState[m.state] ?? "").toLowerCase();
    li.dataset.state = state;
    if (m.outgoing) li.className = "outgoing";
    const meta = [timeOf(m.sendTime), m.editTime ? "edited" : "", state === "sent" ? "" : state, m.errorReason];
    li.append(span("text", preview(m)), span("meta", meta.filter(Boolean).join(" · ")));
    return li;
  });
  const list = el("messages");
  list.replaceChildren(...items);
  list.scrollTop = list.scrollHeight;
  el<HTMLInputElement>("send-text").disabled = v.open === undefined;
  el<HTMLButtonElement>("send-button").disabled = v.open === undefined;
}

// --- state changes -----------------------------------------------------------

function moveToTop(v: View, key: string): void {
  v.order = [key, ...v.order.filter((k) => k !== key)];
}

/** Orders by message id; PENDING sends (id 0) go last, in the order they were made. */
function byId(a: v1.Message, b: v1.Message): number {
  if (a.messageId === 0n || b.messageId === 0n) return Number(a.messageId === 0n) - Number(b.messageId === 0n);
  return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
}

/** Whether two copies are the same message: same id, or same send (request_id). */
function sameMessage(a: v1.Message, b: v1.Message): boolean {
  return (a.messageId !== 0n && a.messageId === b.messageId) || (a.requestId !== "" && a.requestId === b.requestId);
}

/** Puts a message into the open chat: it replaces the copy with the same id, or
 *  the PENDING send with the same request_id (never a sent copy with a pending one). */
function upsertMessage(v: View, m: v1.Message): void {
  const i = v.messages.findIndex((x) => sameMessage(x, m));
  if (i < 0) v.messages.push(m);
  else if (v.messages[i].messageId === 0n || m.messageId !== 0n) v.messages[i] = m;
  v.messages.sort(byId);
}

/** Makes `m` its chat's last message and moves the chat to the top, unless the
 *  chat already has it or a newer one (events may repeat what a list returned). */
function bumpChat(v: View, chat: v1.Chat, m: v1.Message): boolean {
  const last = chat.lastMessage;
  if (last && m.messageId !== 0n && m.messageId <= last.messageId) return false;
  chat.lastMessage = m;
  moveToTop(v, chatKey(chat.chatId));
  return true;
}

async function markRead(v: View, chatId: bigint, maxMessageId: bigint): Promise<void> {
  try {
    const res = await clients.messages.markRead(
      { accountId: v.accountId, chatId, maxMessageId },
      { timeoutMs: callTimeoutMs, signal: v.stop.signal },
    );
    const chat = v.chats.get(chatKey(chatId));
    if (!chat) return;
    chat.unreadCount = res.unreadCount;
    renderChats(v);
  } catch (err) {
    console.warn(`MarkRead: ${describe(err)}`);
  }
}

/** Fetches a chat the list does not have (or whose last message went away).
 *  A failure skips the chat rather than holding up the stream. */
async function refreshChat(v: View, chatId: bigint): Promise<v1.Chat | undefined> {
  let res: v1.GetChatResponse;
  try {
    res = await clients.chats.getChat({ accountId: v.accountId, chatId }, { timeoutMs: callTimeoutMs, signal: v.stop.signal });
  } catch (err) {
    console.warn(`GetChat ${chatId}: ${describe(err)}`);
    return undefined;
  }
  if (!res.chat) return undefined;
  const key = chatKey(chatId);
  if (!v.chats.has(key)) moveToTop(v, key);
  v.chats.set(key, res.chat);
  return res.chat;
}

async function loadChats(v: View): Promise<boolean> {
  try {
    const res = await clients.chats.listChats(
      { accountId: v.accountId, pageSize: 100 },
      { timeoutMs: callTimeoutMs, signal: v.stop.signal },
    );
    v.chats = new Map(res.chats.map((c) => [chatKey(c.chatId), c]));
    v.order = res.chats.map((c) => chatKey(c.chatId));
    renderChats(v);
    // After a CURSOR_EXPIRED restart the open chat may have missed events too.
    if (v.open) void openChat(v, v.open);
    return true;
  } catch (err) {
    if (!v.stop.signal.aborted) setStatus("error", `ListChats: ${describe(err)}`);
    return false;
  }
}

async function openChat(v: View, key: string): Promise<void> {
  const chat = v.chats.get(key);
  if (!chat) return;
  v.open = key;
  v.messages = [];
  renderChats(v);
  renderMessages(v);
  let res: v1.ListMessagesResponse;
  try {
    res = await clients.messages.listMessages(
      { accountId: v.accountId, chatId: chat.chatId, pageSize: 50 },
      { timeoutMs: callTimeoutMs, signal: v.stop.signal },
    );
  } catch (err) {
    el("messages").replaceChildren(span("empty", `ListMessages: ${describe(err)}`, "li"));
    return;
  }
  if (v.open !== key) return;
  // Merged, not replaced: events for this chat may have arrived meanwhile.
  for (const m of res.messages) upsertMessage(v, m);
  renderMessages(v);
  const newest = v.messages.reduce((max, m) => (m.messageId > max ? m.messageId : max), 0n);
  await markRead(v, chat.chatId, newest);
}

async function send(v: View): Promise<void> {
  const input = el<HTMLInputElement>("send-text");
  const text = input.value.trim();
  const chat = v.open === undefined ? undefined : v.chats.get(v.open);
  if (!text || !chat) return;
  input.value = "";
  const requestId = crypto.randomUUID();
  // Shown at once as PENDING; the answer or the MessageCreated event with the
  // same request_id replaces it, whichever comes first.
  const draft = create(v1.MessageSchema, {
    accountId: v.accountId,
    chatId: chat.chatId,
    outgoing: true,
    text,
    state: v1.MessageState.PENDING,
    requestId,
    sendTime: timestampNow(),
  });
  upsertMessage(v, draft);
  renderMessages(v);
  let sent: v1.Message | undefined;
  try {
    const res = await clients.messages.sendMessage(
      { accountId: v.accountId, chatId: chat.chatId, text, requestId },
      { timeoutMs: callTimeoutMs, signal: v.stop.signal },
    );
    sent = res.message;
  } catch (err) {
    sent = { ...draft, state: v1.MessageState.FAILED, errorReason: describe(err) };
  }
  if (!sent) return;
  if (v.open === chatKey(chat.chatId)) upsertMessage(v, sent);
  bumpChat(v, v.chats.get(chatKey(chat.chatId)) ?? chat, sent);
  renderMessages(v);
  renderChats(v);
}

// --- events --------------------------------------------------------------------

async function messageCreated(v: View, m: v1.Message): Promise<void> {
  const key = chatKey(m.chatId);
  // A chat new to the list whose ChatUpdated we did not see: GetChat already
  // counts this message, so it is not counted again below.
  const chat = v.chats.get(key) ?? (await refreshChat(v, m.chatId));
  if (!chat) return;
  const open = v.open === key;
  if (open) upsertMessage(v, m);
  if (bumpChat(v, chat, m) && !m.outgoing) {
    if (open) void markRead(v, m.chatId, m.messageId);
    else chat.unreadCount += 1;
  }
  renderChats(v);
  if (open) renderMessages(v);
}

function messageChanged(v: View, m: v1.Message): void {
  const chat = v.chats.get(chatKey(m.chatId));
  if (chat?.lastMessage?.messageId === m.messageId) chat.lastMessage = m;
  if (v.open === chatKey(m.chatId) && v.messages.some((x) => sameMessage(x, m))) {
    upsertMessage(v, m);
    renderMessages(v);
  }
  renderChats(v);
}

async function messagesDeleted(v: View, d: v1.MessageDeleted): Promise<void> {
  const gone = new Set(d.messageIds);
  // chat_id 0: Telegram did not say which chat; ids of private chats are unique per account.
  const inChat = (key: string) => d.chatId === 0n || chatKey(d.chatId) === key;
  if (v.open !== undefined && inChat(v.open)) {
    v.messages = v.messages.filter((m) => !gone.has(m.messageId));
    renderMessages(v);
  }
  for (const [key, chat] of v.chats) {
    if (inChat(key) && chat.lastMessage && gone.has(chat.lastMessage.messageId)) await refreshChat(v, chat.chatId);
  }
  renderChats(v);
}

function chatUpdated(v: View, chat: v1.Chat): void {
  const key = chatKey(chat.chatId);
  const known = v.chats.get(key);
  // Keep a newer last message than the event's snapshot has.
  const last = known?.lastMessage;
  if (last && (!chat.lastMessage || chat.lastMessage.messageId < last.messageId)) chat.lastMessage = last;
  if (!known) moveToTop(v, key);
  v.chats.set(key, chat);
  renderChats(v);
}

async function apply(v: View, event: v1.Event): Promise<void> {
  const p = event.payload;
  switch (p.case) {
    case "messageCreated":
      if (p.value.message) await messageCreated(v, p.value.message);
      return;
    case "messageEdited":
    case "messageSendFailed":
      if (p.value.message) messageChanged(v, p.value.message);
      return;
    case "messageDeleted":
      return messagesDeleted(v, p.value);
    case "read": {
      const chat = v.chats.get(chatKey(p.value.chatId));
      // outgoing: the customer read the agent's messages; no count changes.
      if (chat && !p.value.outgoing) chat.unreadCount = p.value.unreadCount;
      renderChats(v);
      return;
    }
    case "chatUpdated":
      if (p.value.chat) chatUpdated(v, p.value.chat);
      return;
    case "chatLinked":
    case "chatUnlinked": {
      const chat = v.chats.get(chatKey(p.value.chatId));
      const entity = p.value.entity;
      if (!chat || !entity) return;
      const others = chat.linkedEntities.filter((e) => e.type !== entity.type || e.id !== entity.id);
      chat.linkedEntities = p.case === "chatLinked" ? [...others, entity] : others;
      renderChats(v);
      return;
    }
    default:
      // Heartbeats only move the cursor; typing and the rest are not shown.
      return;
  }
}

/** Follows the account's events while it is picked, reconnecting from the last
 *  cursor with backoff (1 s, 2 s, 4 s, ... 10 s) whenever the stream ends. */
async function follow(v: View): Promise<void> {
  let backoffMs = 1000;
  while (!v.stop.signal.aborted) {
    const attempt = new AbortController();
    const endAttempt = () => attempt.abort();
    v.stop.signal.addEventListener("abort", endAttempt);
    let watchdog = setTimeout(endAttempt, silenceMs);
    let reason = "the stream ended";
    try {
      const stream = clients.updates.subscribe(
        { accountIds: [v.accountId], cursor: v.cursor },
        {
          signal: attempt.signal,
          // Headers come once the server has joined the event feed: from here
          // on nothing is missed, so this is when the chat list is read.
          onHeader: () => {
            backoffMs = 1000;
            setStatus("live");
            v.loaded ??= loadChats(v);
          },
        },
      );
      for await (const { event } of stream) {
        clearTimeout(watchdog);
        watchdog = setTimeout(endAttempt, silenceMs);
        if (!event) continue;
        if (!(await v.loaded)) {
          v.loaded = undefined;
          throw new Error("the chat list did not load");
        }
        if (v.stop.signal.aborted) return;
        await apply(v, event);
        v.cursor = event.cursor;
      }
    } catch (err) {
      if (v.stop.signal.aborted) return;
      reason = attempt.signal.aborted ? `silent for ${silenceMs / 1000}s` : describe(err);
      if (ConnectError.from(err).code === Code.FailedPrecondition) {
        // CURSOR_EXPIRED: events were lost; start at the present and reload the lists.
        v.cursor = "";
        v.loaded = undefined;
      }
    } finally {
      clearTimeout(watchdog);
      v.stop.signal.removeEventListener("abort", endAttempt);
    }
    setStatus("reconnecting", `in ${backoffMs / 1000}s (${reason})`);
    await sleep(backoffMs, v.stop.signal);
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  }
}

// --- start -----------------------------------------------------------------------

function selectAccount(accountId: string): void {
  view?.stop.abort();
  const v: View = { accountId, chats: new Map(), order: [], messages: [], cursor: "", stop: new AbortController() };
  view = v;
  setStatus("connecting");
  renderChats(v);
  renderMessages(v);
  void follow(v);
}

async function start(gateway: string, token: string, wanted: string): Promise<void> {
  clients = connect(gateway, token);
  let accounts: v1.Account[];
  try {
    const res = await clients.accounts.listAccounts({ pageSize: 1000 }, { timeoutMs: callTimeoutMs });
    accounts = res.accounts.filter((a) => a.state === v1.AccountState.AUTHORIZED);
  } catch (err) {
    if (ConnectError.from(err).code !== Code.Unauthenticated) return setStatus("error", describe(err));
    sessionStorage.removeItem(tokenKey);
    return askForToken(gateway, wanted, "the gateway refused the token");
  }
  if (!accounts.length) return setStatus("error", "no authorized accounts");
  const picker = el<HTMLSelectElement>("accounts");
  picker.replaceChildren(
    ...accounts.map((a) => new Option(`${a.displayName || a.username || "account"} ${a.phoneNumber}`.trim(), a.accountId)),
  );
  picker.value = accounts.some((a) => a.accountId === wanted) ? wanted : accounts[0].accountId;
  picker.onchange = () => selectAccount(picker.value);
  selectAccount(picker.value);
}

function askForToken(gateway: string, wanted: string, problem: string): void {
  setStatus("error", problem);
  const form = el<HTMLFormElement>("token-form");
  form.hidden = false;
  form.onsubmit = (e) => {
    e.preventDefault();
    const token = el<HTMLInputElement>("token-input").value.trim();
    if (!token) return;
    sessionStorage.setItem(tokenKey, token);
    form.hidden = true;
    void start(gateway, token, wanted);
  };
}

function main(): void {
  const params = new URLSearchParams(location.hash.slice(1));
  const gateway = params.get("gateway") || defaultGateway;
  const fromUrl = params.get("token");
  if (fromUrl) {
    // Kept for reloads, and taken out of the address bar and the history.
    sessionStorage.setItem(tokenKey, fromUrl);
    params.delete("token");
    history.replaceState(null, "", `#${params}`);
  }
  el("chats").addEventListener("click", (e) => {
    const li = (e.target as Element).closest<HTMLElement>("li[data-chat-id]");
    if (view && li?.dataset.chatId) void openChat(view, li.dataset.chatId);
  });
  el("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (view) void send(view);
  });
  const account = params.get("account") ?? "";
  const token = fromUrl || sessionStorage.getItem(tokenKey);
  if (!token) return askForToken(gateway, account, "paste an API token");
  void start(gateway, token, account);
}

main();
