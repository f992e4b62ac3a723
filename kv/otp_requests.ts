import { keys } from "./keys.ts";
import { addStart } from "./telegram.ts";
import type { AtomicWrites } from "./writes.ts";

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
  /** Canonical recipient key (core/auth/recipients.ts `formatRecipient`). */
  recipient: string;
  channel: ChannelName;
  /** Null while a Telegram request waits for its link to be opened. */
  codeHash: string | null;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  maxAttempts: number;
  /** The language its messages go out in (a code sent later by the bot uses it too). */
  locale?: string;
  /** A test recipient's: nothing is sent, its fixed code verifies. */
  test?: boolean;
  /**
   * The number range of a request whose only way is SMS (known when it is stored, so its
   * delivery need not be written down for a verify to count it).
   */
  smsPrefix?: string;
  /**
   * The user whose contact this request adds or changes (or, without a recipient, whose
   * Telegram account the deep link links); absent: a sign-in (requests stored before too).
   */
  contactOf?: string;
}

/** Where a Telegram code message is. */
export interface TelegramMessageRef {
  chatId: string;
  messageId: number;
  /** When its self-deletion is due (the key of its delete job). */
  deleteAt: number;
}

/**
 * What a recipient's next request is checked against, in one record: the request now live
 * (a new one replaces it), the hourly window, and the resend cooldown. One key per recipient,
 * so requests for different recipients never touch the same key.
 */
export interface RecipientRecord {
  activeRequestId: string | null;
  window: WindowCounter;
  cooldownUntil: number;
  /** The request that started the cooldown (a withdrawn request takes its cooldown back). */
  cooldownRequestId: string | null;
}

/** How a request's code went out: written once a provider took it. */
export interface OtpDelivery {
  /** The delivery log entry of the attempt that got through. */
  deliveryId: string;
  channel: ChannelName;
  provider: string;
  /** The provider's id of the message (Telegram Gateway request id, Twilio message SID). */
  providerId: string | null;
  /** The number range an SMS went to: the code, once used, counts as verified there. */
  smsPrefix: string | null;
  /** Where a Telegram bot message is, to delete it. */
  telegram: TelegramMessageRef | null;
}

/** A stored request with how its code went out, once it did. */
export interface StoredRequest {
  entry: Deno.KvEntry<OtpRequest>;
  delivery: OtpDelivery | null;
  /**
   * The recipient's user index entry as it was read with the request (only on the copy the
   * instance that stored it keeps): who the code will sign in, as far as it knew then.
   */
  userIndex?: Deno.KvEntryMaybe<string>;
}

/** What a new request is checked against, read together in one `getMany`. */
export interface RequestGuards {
  /** The recipient's record (its versionstamp guards the new request). */
  record: Deno.KvEntryMaybe<RecipientRecord>;
  /** The Telegram chat the phone is linked to, if any. */
  chatId: string | null;
  /** The recipient's user index entry, when one was asked for. */
  userIndex: Deno.KvEntryMaybe<string> | null;
}

/**
 * Reads a recipient's record, a phone's Telegram link and the recipient's user index entry
 * (`userIndex`, a key of kv/users.ts) in one round trip.
 */
export async function readRequestGuards(
  kv: Deno.Kv,
  options: { recipient: string; phone: string | null; userIndex: Deno.KvKey | null },
): Promise<RequestGuards> {
  const link = options.phone ? [keys.telegramLinkByPhone(options.phone)] : [];
  const index = options.userIndex ? [options.userIndex] : [];
  const entries = await kv.getMany([keys.otpRecipient(options.recipient), ...link, ...index]);
  return {
    record: entries[0] as Deno.KvEntryMaybe<RecipientRecord>,
    chatId: options.phone ? (entries[1].value as string | null) : null,
    userIndex: options.userIndex ? entries[entries.length - 1] as Deno.KvEntryMaybe<string> : null,
  };
}

/** Reads a recipient's record (its versionstamp guards a change of it). */
export function getRecipientRecord(
  kv: Deno.Kv,
  recipient: string,
): Promise<Deno.KvEntryMaybe<RecipientRecord>> {
  return kv.get<RecipientRecord>(keys.otpRecipient(recipient));
}

/**
 * Adds a new request: it is stored, the recipient's record moves on (guarded by the
 * versionstamp read), and the request it replaces dies with it. `windowMs` bounds how long
 * the record is worth keeping.
 */
export function addNewRequest<W extends AtomicWrites>(
  w: W,
  options: {
    request: OtpRequest;
    record: Deno.KvEntryMaybe<RecipientRecord>;
    next: RecipientRecord;
    windowMs: number;
    /** A Telegram deep-link token that continues this request. */
    startToken?: string | null;
  },
): W {
  const { request, record, next } = options;
  const ttl = Math.max(1, request.expiresAt - request.createdAt);
  w.check(record)
    .set(keys.otpRequest(request.id), request, { expireIn: ttl })
    .set(record.key, next, { expireIn: options.windowMs * 2 });
  const previous = record.value?.activeRequestId;
  if (previous) w.delete(keys.otpRequest(previous)).delete(keys.otpDelivery(previous));
  if (options.startToken) addStart(w, options.startToken, request.id, ttl);
  return w;
}

/** A request as stored by a commit that returned `versionstamp` (not delivered yet). */
export function storedRequest(
  request: OtpRequest,
  versionstamp: string,
  userIndex: Deno.KvEntryMaybe<string> | null = null,
): StoredRequest {
  const stored: StoredRequest = {
    entry: { key: keys.otpRequest(request.id), value: request, versionstamp },
    delivery: null,
  };
  if (userIndex) stored.userIndex = userIndex;
  return stored;
}

/** Reads a request and how its code went out, together. */
export async function getRequest(kv: Deno.Kv, id: string): Promise<StoredRequest | null> {
  const [entry, delivery] = await kv.getMany<[OtpRequest, OtpDelivery]>([
    keys.otpRequest(id),
    keys.otpDelivery(id),
  ]);
  if (!entry.value) return null;
  return { entry: entry as Deno.KvEntry<OtpRequest>, delivery: delivery.value };
}

/**
 * Adds one spent attempt, guarded by the versionstamp read, so parallel guesses can never
 * spend more attempts than there are.
 */
export function addAttempt<W extends AtomicWrites>(
  w: W,
  entry: Deno.KvEntry<OtpRequest>,
  now: number,
): W {
  const value = { ...entry.value, attempts: entry.value.attempts + 1 };
  return w.check(entry).set(entry.key, value, { expireIn: Math.max(1, value.expiresAt - now) });
}

/** Adds "this request is used up": it only commits if the request is unchanged. */
export function addConsumeRequest<W extends AtomicWrites>(
  w: W,
  stored: StoredRequest,
): W {
  // The recipient's record may still name it: a later request deletes a key that is gone.
  w.check(stored.entry).delete(stored.entry.key);
  if (stored.delivery) w.delete(keys.otpDelivery(stored.entry.value.id));
  return w;
}

/** Replaces a request as read (a Telegram code sent later); check-guarded. */
export function addReplaceRequest<W extends AtomicWrites>(
  w: W,
  entry: Deno.KvEntry<OtpRequest>,
  next: OtpRequest,
  now: number,
): W {
  return w.check(entry).set(entry.key, next, { expireIn: Math.max(1, next.expiresAt - now) });
}

/** Records how a request's code went out (no check: the last one wins). */
export function addOtpDelivery<W extends AtomicWrites>(
  w: W,
  requestId: string,
  delivery: OtpDelivery,
  expiresAt: number,
  now: number,
): W {
  return w.set(keys.otpDelivery(requestId), delivery, { expireIn: Math.max(1, expiresAt - now) });
}

/**
 * Adds the undoing of a request whose code could not be delivered: the request, the
 * recipient's pointer to it and its resend cooldown go. With `refund` (nothing can have been
 * sent) its place in the window comes back too; without, it stays counted.
 */
export function addWithdrawRequest<W extends AtomicWrites>(
  w: W,
  options: {
    request: OtpRequest;
    record: Deno.KvEntryMaybe<RecipientRecord>;
    refund: ((window: WindowCounter) => WindowCounter) | null;
    windowMs: number;
  },
): W {
  const { request, record, refund } = options;
  w.check(record).delete(keys.otpRequest(request.id));
  if (record.value) {
    const mine = record.value.activeRequestId === request.id;
    const cooling = record.value.cooldownRequestId === request.id;
    w.set(
      record.key,
      {
        activeRequestId: mine ? null : record.value.activeRequestId,
        window: refund ? refund(record.value.window) : record.value.window,
        cooldownUntil: cooling ? 0 : record.value.cooldownUntil,
        cooldownRequestId: cooling ? null : record.value.cooldownRequestId,
      } satisfies RecipientRecord,
      { expireIn: options.windowMs * 2 },
    );
  }
  return w;
}
