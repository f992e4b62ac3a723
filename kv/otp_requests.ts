import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";
import { addStart } from "./telegram.ts";

/** The channels a code can travel by: the one name for them everywhere. */
export type ChannelName = "sms" | "email" | "telegram";

/**
 * A rolling-window counter kept in one small record (see core/limits.ts): `[bucket start in
 * ms, requests in it]`, oldest first.
 */
export interface WindowCounter {
  buckets: [number, number][];
}

/** A code request. The code itself is never stored, only its keyed hash. */
export interface OtpRequest {
  id: string;
  /**
   * Canonical recipient key: `phone:+14155550100`, `email:ada@example.com`, `telegram:<id>`,
   * or `start:<token>` for a Telegram deep link nobody opened yet.
   */
  recipient: string;
  channel: ChannelName;
  /** Null while a Telegram request waits for its link to be opened. */
  codeHash: string | null;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  maxAttempts: number;
  /** The Telegram message carrying the code, to delete once it is used. */
  telegram: TelegramMessageRef | null;
}

/** Where a Telegram code message is. */
export interface TelegramMessageRef {
  chatId: string;
  messageId: number;
  /** When its self-deletion is due (the key of its delete job). */
  deleteAt: number;
}

/** The records a new request is checked against, read together. */
export interface RequestGuards {
  active: Deno.KvEntryMaybe<string>;
  recipientWindow: Deno.KvEntryMaybe<WindowCounter>;
  ipWindow: Deno.KvEntryMaybe<WindowCounter>;
  cooldown: Deno.KvEntryMaybe<Cooldown>;
}

/** Until when a recipient may not get another code, and which request started the wait. */
export interface Cooldown {
  until: number;
  requestId: string;
}

/** Reads the active request pointer, both limit windows and the cooldown of a recipient. */
export async function readRequestGuards(
  kv: Deno.Kv,
  recipient: string,
  ip: string,
): Promise<RequestGuards> {
  const [active, recipientWindow, ipWindow, cooldown] = await kv.getMany<
    [string, WindowCounter, WindowCounter, Cooldown]
  >([
    keys.otpActive(recipient),
    keys.limit("recipient", recipient),
    keys.limit("ip", ip),
    keys.cooldown(recipient),
  ]);
  return { active, recipientWindow, ipWindow, cooldown };
}

/**
 * Stores a new request, replaces (and deletes) the recipient's previous one and updates the
 * limit counters, all in one commit guarded by the versionstamps read in `guards`.
 * Returns false when another writer changed any of them first.
 */
export async function saveRequest(
  kv: Deno.Kv,
  options: {
    request: OtpRequest;
    guards: RequestGuards;
    recipientWindow: WindowCounter;
    ipWindow: WindowCounter;
    windowMs: number;
    cooldownUntil: number;
    /** A Telegram deep-link token that continues this request. */
    startToken?: string | null;
  },
): Promise<boolean> {
  const { request, guards, windowMs } = options;
  const ttl = Math.max(1, request.expiresAt - request.createdAt);
  const op = kv.atomic()
    .check(guards.active, guards.recipientWindow, guards.ipWindow, guards.cooldown)
    .set(keys.otpRequest(request.id), request, { expireIn: ttl })
    .set(keys.otpActive(request.recipient), request.id, { expireIn: ttl })
    .set(guards.recipientWindow.key, options.recipientWindow, { expireIn: windowMs * 2 })
    .set(guards.ipWindow.key, options.ipWindow, { expireIn: windowMs * 2 });
  const cooldownMs = options.cooldownUntil - request.createdAt;
  if (cooldownMs > 0) {
    const cooldown: Cooldown = { until: options.cooldownUntil, requestId: request.id };
    op.set(guards.cooldown.key, cooldown, { expireIn: cooldownMs });
  }
  if (guards.active.value) op.delete(keys.otpRequest(guards.active.value));
  if (options.startToken) addStart(op, options.startToken, request.id, ttl);
  return (await op.commit()).ok;
}

/**
 * Takes back a request whose code could not be delivered: the request, its resend cooldown,
 * and its place in both limit windows, so a failing provider does not lock people out.
 */
export async function withdrawRequest(
  kv: Deno.Kv,
  request: OtpRequest,
  options: { ip: string; refund: (counter: WindowCounter) => WindowCounter },
): Promise<void> {
  await retry(`withdraw request "${request.id}"`, async () => {
    const [active, cooldown, recipientWindow, ipWindow] = await kv.getMany<
      [string, Cooldown, WindowCounter, WindowCounter]
    >([
      keys.otpActive(request.recipient),
      keys.cooldown(request.recipient),
      keys.limit("recipient", request.recipient),
      keys.limit("ip", options.ip),
    ]);
    const op = kv.atomic().delete(keys.otpRequest(request.id));
    if (active.value === request.id) op.check(active).delete(active.key);
    if (cooldown.value?.requestId === request.id) op.check(cooldown).delete(cooldown.key);
    for (const window of [recipientWindow, ipWindow]) {
      if (window.value) op.check(window).set(window.key, options.refund(window.value));
    }
    return (await op.commit()).ok ? undefined : CONFLICT;
  });
}

/** Reads a request by id. */
export function getRequest(kv: Deno.Kv, id: string): Promise<Deno.KvEntryMaybe<OtpRequest>> {
  return kv.get<OtpRequest>(keys.otpRequest(id));
}

/**
 * Spends one attempt of a request before its code is compared, guarded by the versionstamp,
 * so parallel guesses can never spend more attempts than there are. Returns the updated entry,
 * or null when another attempt got there first (read again and retry).
 */
export async function spendAttempt(
  kv: Deno.Kv,
  entry: Deno.KvEntry<OtpRequest>,
  now: number,
): Promise<Deno.KvEntry<OtpRequest> | null> {
  const value = { ...entry.value, attempts: entry.value.attempts + 1 };
  const result = await kv.atomic()
    .check(entry)
    .set(entry.key, value, { expireIn: Math.max(1, value.expiresAt - now) })
    .commit();
  return result.ok ? { key: entry.key, value, versionstamp: result.versionstamp } : null;
}

/** Adds "this request is used up" to an atomic operation: it only commits if unchanged. */
export function addConsumeRequest(
  op: Deno.AtomicOperation,
  entry: Deno.KvEntry<OtpRequest>,
): Deno.AtomicOperation {
  // A newer request deletes this one in the same commit that moves the pointer, so if this
  // entry is unchanged the pointer still names it.
  return op.check(entry).delete(entry.key).delete(keys.otpActive(entry.value.recipient));
}

/** Replaces a request as read (a Telegram code sent later); false if it changed meanwhile. */
export async function replaceRequest(
  kv: Deno.Kv,
  entry: Deno.KvEntry<OtpRequest>,
  next: OtpRequest,
  now: number,
): Promise<boolean> {
  const result = await kv.atomic().check(entry)
    .set(entry.key, next, { expireIn: Math.max(1, next.expiresAt - now) })
    .commit();
  return result.ok;
}

/** Records where the Telegram message of a request's code is (if the request still exists). */
export async function setRequestTelegram(
  kv: Deno.Kv,
  id: string,
  telegram: TelegramMessageRef,
  now: number,
): Promise<void> {
  await retry(`record the Telegram message of "${id}"`, async () => {
    const entry = await kv.get<OtpRequest>(keys.otpRequest(id));
    if (!entry.value) return;
    const result = await kv.atomic().check(entry)
      .set(entry.key, { ...entry.value, telegram }, {
        expireIn: Math.max(1, entry.value.expiresAt - now),
      })
      .commit();
    return result.ok ? undefined : CONFLICT;
  });
}
