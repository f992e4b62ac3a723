/**
 * One simulated person using an app that signs in with Doorman: over HTTP and the presence
 * WebSocket only, as a real client would. The codes come from the fakes that stand in for
 * the SMS gateway, the mailbox and Telegram.
 */
import { contactUpdate, type FakeTelegram, textUpdate } from "../fakes/telegram.ts";
import type { WebhookReceiver } from "../fakes/webhook_receiver.ts";

/** Where the simulated people's codes arrive. */
export interface DemoInboxes {
  sms: WebhookReceiver;
  email: WebhookReceiver;
  telegram: FakeTelegram;
}

/** How a person signs in: by SMS, by email, by Telegram deep link, or a phone linked to Telegram. */
export type Identity =
  | { kind: "sms"; phone: string }
  | { kind: "email"; email: string }
  | { kind: "telegram"; telegramId: number; name: string }
  | { kind: "telegram_phone"; phone: string; telegramId: number; name: string };

/** The mistakes a person may make on the way in. */
export interface Quirks {
  /** Wrong codes typed before the right one (5 or more burns the code). */
  typos: number;
  /** Asks for a second code at once (429 from the resend cooldown). */
  impatient: boolean;
}

/** An answer that was not what the person hoped for. */
export class Refused extends Error {
  constructor(readonly status: number, readonly code: string, readonly retryAfter: number) {
    super(`${status} ${code}`);
  }
}

/** A signed-in person's tokens. */
interface Tokens {
  access: string;
  refresh: string;
  userId: string;
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** How many messages each inbox held, so a new code is told from an old one. */
interface Seen {
  sms: number;
  email: number;
  telegram: number;
}

const CODE = /(?<!\w)\d{4,10}(?!\w)/;

/** One simulated person: signs in, keeps themselves online, signs out. */
export class Visitor {
  #tokens: Tokens | null = null;
  #socket: WebSocket | null = null;
  #linked = false;

  constructor(
    readonly identity: Identity,
    /** The client IP this person's requests come from (`X-Forwarded-For`). */
    readonly ip: string,
    private readonly baseUrl: string,
    private readonly inboxes: DemoInboxes,
  ) {}

  /** The user id once signed in. */
  get userId(): string | null {
    return this.#tokens?.userId ?? null;
  }

  /** Signs in with a code, making the given mistakes on the way. */
  async signIn(quirks: Quirks): Promise<void> {
    const { sms, email, telegram } = this.inboxes;
    const seen = {
      sms: sms.messages.length,
      email: email.messages.length,
      telegram: telegram.messages.length,
    };
    const requestId = await this.#requestCode();
    if (quirks.impatient) await this.#requestCode().catch(ignoreRefusal);
    const code = await this.#receiveCode(seen);
    for (let i = 0; i < quirks.typos; i++) {
      await this.#verify(requestId, mistype(code)).catch(ignoreRefusal);
    }
    const answer = await this.#verify(requestId, code);
    this.#tokens = {
      access: answer.access_token,
      refresh: answer.refresh_token,
      userId: answer.user.id,
    };
    if (this.identity.kind === "telegram_phone") this.#linked = true;
  }

  /** An HTTP heartbeat; returns the seconds until the next one. */
  async heartbeat(): Promise<number> {
    const answer = await this.#authorized("/api/v1/presence/heartbeat", {});
    return answer.next_heartbeat_in;
  }

  /** Opens the presence WebSocket with a ticket and watches `others`. */
  async connect(others: string[]): Promise<void> {
    this.disconnect();
    if (!this.#tokens) return;
    // A single-use ticket; asking refreshes the access token when it ran out.
    const { ticket } = await this.#authorized("/api/v1/presence/ws-ticket", {});
    const socket = new WebSocket(
      `${this.baseUrl.replace(/^http/, "ws")}/api/v1/presence/ws?ticket=${ticket}`,
    );
    this.#socket = socket;
    const ready = new Promise<void>((resolve, reject) => {
      socket.onmessage = (event) => {
        if (JSON.parse(event.data).type === "ready") resolve();
      };
      socket.onclose = () => reject(new Refused(0, "SOCKET_CLOSED", 0));
      socket.onerror = () => {};
    });
    await ready;
    socket.onclose = null;
    if (others.length > 0) {
      socket.send(JSON.stringify({ type: "subscribe", user_ids: others.slice(0, 100) }));
    }
  }

  /** Closes the WebSocket, if open (the user goes offline after the grace). */
  disconnect(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
  }

  /** Signs out; the next sign-in needs a new code. */
  async logout(): Promise<void> {
    this.disconnect();
    if (!this.#tokens) return;
    await this.#authorized("/api/v1/auth/logout", { refresh_token: this.#tokens.refresh });
    this.#tokens = null;
  }

  /** Whether this person holds a sign-in. */
  get signedIn(): boolean {
    return this.#tokens !== null;
  }

  async #requestCode(): Promise<string> {
    const body = requestBody(this.identity, this.#linked);
    const answer = await this.#call("/api/v1/auth/otp/request", body);
    const identity = this.identity;
    if (answer.deep_link && "telegramId" in identity && !this.#linked) {
      this.#openDeepLink(identity, String(answer.deep_link));
    }
    return answer.request_id;
  }

  /** Presses Start in Telegram; a phone sign-in then shares the phone with the bot. */
  #openDeepLink(identity: Extract<Identity, { telegramId: number }>, link: string): void {
    const from = { id: identity.telegramId, first_name: identity.name };
    const token = new URL(link).searchParams.get("start");
    this.inboxes.telegram.pushUpdate(textUpdate({ from, text: `/start ${token}` }));
    if (identity.kind !== "telegram_phone") return;
    // The bot takes updates in order: the contact answers the question `/start` asks.
    this.inboxes.telegram.pushUpdate(contactUpdate({
      from,
      contact: { phone_number: identity.phone, user_id: identity.telegramId },
    }));
  }

  /** The first code that reached this person since `seen` (Telegram's comes a moment later). */
  async #receiveCode(seen: Seen): Promise<string> {
    const identity = this.identity;
    const { sms, email, telegram } = this.inboxes;
    return await waitFor(() => {
      const texts = identity.kind === "sms"
        ? sms.messages.slice(seen.sms).filter((m) => m.to === identity.phone)
        : identity.kind === "email"
        ? email.messages.slice(seen.email).filter((m) => m.to === identity.email)
        : telegram.messages.slice(seen.telegram).filter((m) => m.chat_id === identity.telegramId);
      return texts.map((m) => CODE.exec(m.text)?.[0]).find((code) => code !== undefined);
    });
  }

  async #verify(requestId: string, code: string): Promise<Json> {
    return await this.#call("/api/v1/auth/otp/verify", { request_id: requestId, code });
  }

  /** Calls with the access token, refreshing it once when it ran out. */
  async #authorized(path: string, body?: unknown): Promise<Json> {
    const tokens = this.#tokens;
    if (!tokens) throw new Refused(401, "UNAUTHORIZED", 0);
    try {
      return await this.#call(path, body, tokens.access);
    } catch (error) {
      if (!(error instanceof Refused) || error.status !== 401) throw error;
      const fresh = await this.#call("/api/v1/auth/refresh", { refresh_token: tokens.refresh })
        .catch((refused) => {
          this.#tokens = null;
          throw refused;
        });
      this.#tokens = {
        access: fresh.access_token,
        refresh: fresh.refresh_token,
        userId: tokens.userId,
      };
      return await this.#call(path, body, fresh.access_token);
    }
  }

  async #call(path: string, body?: unknown, token?: string): Promise<Json> {
    const headers: Record<string, string> = { "x-forwarded-for": this.ip };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return {};
    const answer = await res.json();
    if (!res.ok) {
      throw new Refused(res.status, answer.error?.code ?? "", answer.error?.retry_after ?? 0);
    }
    return answer;
  }
}

function requestBody(identity: Identity, linked: boolean): Record<string, string> {
  switch (identity.kind) {
    case "sms":
      return { phone: identity.phone };
    case "email":
      return { email: identity.email };
    case "telegram":
      return { channel: "telegram" };
    case "telegram_phone":
      // Once the phone is linked to the chat, `auto` sends the code there.
      return { phone: identity.phone, channel: linked ? "auto" : "telegram" };
  }
}

/** A wrong code that looks like the right one: one digit off. */
function mistype(code: string): string {
  const i = Math.floor(Math.random() * code.length);
  return code.slice(0, i) + String((Number(code[i]) + 1) % 10) + code.slice(i + 1);
}

function ignoreRefusal(error: unknown): void {
  if (!(error instanceof Refused)) throw error;
}

/** Polls until `read` gives a value (10 s at most: a code that never comes is a refusal). */
async function waitFor<T>(read: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Refused(0, "NO_CODE", 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
