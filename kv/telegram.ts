import { keys } from "./keys.ts";
import { commitUnchecked, CONFLICT, retry } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

const DAY_MS = 24 * 3_600_000;

/** A code message waiting to be deleted. */
export interface DeleteJob {
  chatId: string;
  messageId: number;
  dueAt: number;
  attempts: number;
}

/** The chat a phone is linked to, if any. */
export async function getChatOfPhone(kv: Deno.Kv, phone: string): Promise<string | null> {
  return (await kv.get<string>(keys.telegramLinkByPhone(phone))).value;
}

/** The phone a chat shared, if any. */
export async function getPhoneOfChat(kv: Deno.Kv, chatId: string): Promise<string | null> {
  return (await kv.get<string>(keys.telegramLinkByChat(BigInt(chatId)))).value;
}

/**
 * Links `phone` to `chatId`, replacing any earlier link of either side, in one commit so the
 * two indexes always agree.
 */
export async function linkPhone(kv: Deno.Kv, phone: string, chatId: string): Promise<void> {
  await retry("link a phone to a Telegram chat", async () => {
    const [byPhone, byChat] = await kv.getMany<[string, string]>([
      keys.telegramLinkByPhone(phone),
      keys.telegramLinkByChat(BigInt(chatId)),
    ]);
    const op = kv.atomic().check(byPhone, byChat);
    if (byPhone.value && byPhone.value !== chatId) {
      op.delete(keys.telegramLinkByChat(BigInt(byPhone.value)));
    }
    if (byChat.value && byChat.value !== phone) op.delete(keys.telegramLinkByPhone(byChat.value));
    op.set(byPhone.key, chatId).set(byChat.key, phone);
    return (await op.commit()).ok ? undefined : CONFLICT;
  });
}

/** Removes a chat's link; returns the phone it had. */
export function unlinkChat(kv: Deno.Kv, chatId: string): Promise<string | null> {
  return retry("unlink a Telegram chat", async () => {
    const byChat = await kv.get<string>(keys.telegramLinkByChat(BigInt(chatId)));
    if (!byChat.value) return null;
    const byPhone = await kv.get<string>(keys.telegramLinkByPhone(byChat.value));
    const op = kv.atomic().check(byChat, byPhone).delete(byChat.key);
    if (byPhone.value === chatId) op.delete(byPhone.key);
    return (await op.commit()).ok ? byChat.value : CONFLICT;
  });
}

/** Claims an update id; false when it was processed before (Telegram may send it twice). */
export function claimUpdate(kv: Deno.Kv, updateId: number): Promise<boolean> {
  const key = keys.telegramUpdate(updateId);
  return retry("claim a Telegram update", async () => {
    const result = await kv.atomic().check({ key, versionstamp: null }).set(key, true, {
      expireIn: DAY_MS,
    }).commit();
    return result.ok;
  });
}

/** The request a deep-link token continues. */
export async function getStart(kv: Deno.Kv, token: string): Promise<string | null> {
  return (await kv.get<string>(keys.telegramStart(token))).value;
}

/** Adds "token continues request" to an atomic operation. */
export function addStart<W extends AtomicWrites>(
  op: W,
  token: string,
  requestId: string,
  ttlMs: number,
): W {
  return op.set(keys.telegramStart(token), requestId, { expireIn: Math.max(1, ttlMs) });
}

/** Remembers that a chat was asked for its phone number to continue a request. */
export async function setPending(
  kv: Deno.Kv,
  chatId: string,
  requestId: string,
  ttlMs: number,
): Promise<void> {
  await commitUnchecked(
    "remember a pending Telegram sign-in",
    () =>
      kv.atomic().set(keys.telegramPending(BigInt(chatId)), requestId, {
        expireIn: Math.max(1, ttlMs),
      }),
  );
}

/** The request a chat was asked its phone number for, if any. */
export async function getPending(kv: Deno.Kv, chatId: string): Promise<string | null> {
  return (await kv.get<string>(keys.telegramPending(BigInt(chatId)))).value;
}

/** Records a message to delete at `dueAt`. */
export async function saveDeleteJob(kv: Deno.Kv, job: DeleteJob, now: number): Promise<void> {
  await commitUnchecked(
    "save a Telegram delete job",
    () =>
      kv.atomic().set(keys.telegramDelete(job.dueAt, BigInt(job.chatId), job.messageId), job, {
        expireIn: Math.max(1, job.dueAt - now) + DAY_MS,
      }),
  );
}

/** Forgets a delete job (done, or given up). */
export async function dropDeleteJob(kv: Deno.Kv, job: DeleteJob): Promise<void> {
  await commitUnchecked(
    "drop a Telegram delete job",
    () => kv.atomic().delete(keys.telegramDelete(job.dueAt, BigInt(job.chatId), job.messageId)),
  );
}

/** Delete jobs due at or before `now`, oldest first. */
export async function listDueDeleteJobs(
  kv: Deno.Kv,
  now: number,
  limit = 500,
): Promise<DeleteJob[]> {
  const jobs: DeleteJob[] = [];
  const iterator = kv.list<DeleteJob>({
    start: keys.telegramDeletes(),
    end: [...keys.telegramDeletes(), now + 1],
  }, { limit });
  for await (const entry of iterator) jobs.push(entry.value);
  return jobs;
}
