// What test/inbox.test.mjs does from Node around the inbox page: creates
// sandbox users, logs the agent in, makes customers write, and reads back what
// Telegram (the sandbox DC) and the gateway's store hold. Bundled for Node by
// the test (a .mjs file cannot import the SDK's .ts sources itself); talks
// grpc-web like the page, through the same SDK.
import { Code, ConnectError, createClient, createWebTransport, v1 } from "../../src/index.js";

const timeoutMs = 10_000;

/** A sandbox user who writes to the agent, as a customer would. */
export interface Customer {
  name: string;
  phoneNumber: string;
  /** The customer's Telegram user id: also the chat_id of their chat with the agent. */
  chatId: bigint;
}

/** A random sandbox number 999663YYYY (DC 3: login code 33333); createUser retries taken ones. */
function randomPhone(): string {
  return `999663${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function inboxFixture(gateway: string, token: string) {
  const transport = createWebTransport({ baseUrl: gateway, token });
  const sandbox = createClient(v1.SandboxService, transport);
  const accounts = createClient(v1.AccountService, transport);
  const chats = createClient(v1.ChatService, transport);
  const messages = createClient(v1.MessageService, transport);

  /** Creates a sandbox user under a random free number (the sandbox DC outlives test runs). */
  async function createUser(firstName: string): Promise<v1.SandboxUser> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await sandbox.createSandboxUser({ phoneNumber: randomPhone(), firstName }, { timeoutMs });
        if (!res.sandboxUser) throw new Error("CreateSandboxUser returned no user");
        return res.sandboxUser;
      } catch (err) {
        if (ConnectError.from(err).code !== Code.AlreadyExists || attempt >= 20) throw err;
      }
    }
  }

  /** The customer writes `text` to the account (a private message through the sandbox DC). */
  async function write(customer: Customer, accountId: string, text: string): Promise<v1.Message> {
    const res = await sandbox.sendAsSandboxUser(
      { sandboxUser: { user: { case: "phoneNumber", value: customer.phoneNumber } }, toAccountId: accountId, text },
      { timeoutMs },
    );
    if (!res.message) throw new Error("SendAsSandboxUser returned no message");
    return res.message;
  }

  return {
    createUser,
    write,

    /** Creates the agent's sandbox user and connects it: StartLogin, then SubmitCode. */
    async loginAgent(firstName: string): Promise<v1.Account> {
      const user = await createUser(firstName);
      const started = await accounts.startLogin(
        { credential: { case: "phoneNumber", value: user.phoneNumber }, requestId: crypto.randomUUID() },
        { timeoutMs },
      );
      const waiting = started.account;
      if (waiting?.state !== v1.AccountState.LOGIN_CODE_REQUIRED) {
        throw new Error(`StartLogin: expected LOGIN_CODE_REQUIRED, got ${v1.AccountState[waiting?.state ?? 0]}`);
      }
      const submitted = await accounts.submitCode({ accountId: waiting.accountId, code: user.loginCode }, { timeoutMs });
      const account = submitted.account;
      if (account?.state !== v1.AccountState.AUTHORIZED) {
        throw new Error(`SubmitCode: expected AUTHORIZED, got ${v1.AccountState[account?.state ?? 0]}`);
      }
      return account;
    },

    /** Creates a customer and has them write `text` to the account, retrying (bounded)
     *  while the account's connection to the sandbox DC is still coming up. */
    async customerWrites(firstName: string, accountId: string, text: string): Promise<Customer> {
      const user = await createUser(firstName);
      const customer = { name: firstName, phoneNumber: user.phoneNumber, chatId: user.userId };
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await write(customer, accountId, text);
          return customer;
        } catch (err) {
          if (ConnectError.from(err).code !== Code.FailedPrecondition || Date.now() > deadline) throw err;
          await sleep(200);
        }
      }
    },

    /** The chat's newest messages, newest first. */
    async messagesOf(accountId: string, chatId: bigint): Promise<v1.Message[]> {
      const res = await messages.listMessages({ accountId, chatId, pageSize: 20 }, { timeoutMs });
      return res.messages;
    },

    /** The account's chat with that id, as ListChats reports it. */
    async chatOf(accountId: string, chatId: bigint): Promise<v1.Chat | undefined> {
      const res = await chats.listChats({ accountId, pageSize: 100 }, { timeoutMs });
      return res.chats.find((c) => c.chatId === chatId);
    },
  };
}

export { v1 };
