import type { Api } from "grammy/web";
import { GrammyError } from "grammy/web";
import {
  type DeleteJob,
  dropDeleteJob,
  listDueDeleteJobs,
  saveDeleteJob,
} from "../../kv/telegram.ts";
import type { Clock } from "../clock.ts";
import { Deadlines } from "../jobs/timers.ts";
import type { Logger } from "../log.ts";

/** A delete that keeps failing for other reasons is dropped after this many tries. */
const MAX_DELETE_ATTEMPTS = 5;
/** `deleteMessages` takes at most this many ids. */
const DELETE_BATCH = 100;

/**
 * Code messages delete themselves: at the exact second through an in-process deadline, and
 * durably through a job in KV (keyed by due time) that the cron sweep runs — after a restart,
 * or on another instance. A message that is already gone counts as deleted.
 */
export class CodeMessageDeleter {
  readonly #kv: Deno.Kv;
  readonly #api: Api;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #jobs = new Map<string, DeleteJob>();
  readonly #deadlines: Deadlines;

  constructor(deps: { kv: Deno.Kv; api: Api; clock: Clock; log: Logger }) {
    this.#kv = deps.kv;
    this.#api = deps.api;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#deadlines = new Deadlines(
      deps.clock,
      async (key) => {
        const job = this.#jobs.get(key);
        this.#jobs.delete(key);
        if (job) await this.#deleteOne(job);
      },
      (key, error) => this.#log.warn("telegram delete failed", { job: key, error: String(error) }),
    );
  }

  /** Deletes the message `afterMs` from now (the job survives restarts). */
  async schedule(chatId: string, messageId: number, afterMs: number): Promise<void> {
    const now = this.#clock.now();
    const job: DeleteJob = { chatId, messageId, dueAt: now + afterMs, attempts: 0 };
    await saveDeleteJob(this.#kv, job, now);
    this.#jobs.set(jobKey(job), job);
    this.#deadlines.schedule(jobKey(job), job.dueAt);
  }

  /** Deletes a message now (its code was used); its pending job, due at `dueAt`, goes too. */
  async deleteNow(chatId: string, messageId: number, dueAt: number): Promise<void> {
    const key = `${chatId}:${messageId}`;
    const job = this.#jobs.get(key) ?? { chatId, messageId, dueAt, attempts: 0 };
    this.#jobs.delete(key);
    this.#deadlines.cancel(key);
    await this.#deleteOne(job);
  }

  /** Runs every job that is due, batching per chat with `deleteMessages`. Returns how many. */
  async sweep(): Promise<number> {
    const jobs = await listDueDeleteJobs(this.#kv, this.#clock.now());
    const byChat = new Map<string, DeleteJob[]>();
    for (const job of jobs) byChat.set(job.chatId, [...byChat.get(job.chatId) ?? [], job]);
    let done = 0;
    for (const [chatId, chatJobs] of byChat) {
      for (let i = 0; i < chatJobs.length; i += DELETE_BATCH) {
        const batch = chatJobs.slice(i, i + DELETE_BATCH);
        try {
          // Messages already gone are skipped by Telegram: the call still succeeds.
          await this.#api.deleteMessages(chatId, batch.map((job) => job.messageId));
          await Promise.all(batch.map((job) => this.#finish(job)));
          done += batch.length;
        } catch (error) {
          await Promise.all(batch.map((job) => this.#failed(job, error)));
        }
      }
    }
    return done;
  }

  /** Stops the in-process deadlines (the KV jobs stay for the sweep). */
  stop(): void {
    this.#deadlines.stop();
    this.#jobs.clear();
  }

  async #deleteOne(job: DeleteJob): Promise<void> {
    try {
      await this.#api.deleteMessage(job.chatId, job.messageId);
      await this.#finish(job);
    } catch (error) {
      if (alreadyGone(error)) await this.#finish(job);
      else await this.#failed(job, error);
    }
  }

  async #finish(job: DeleteJob): Promise<void> {
    this.#jobs.delete(jobKey(job));
    await dropDeleteJob(this.#kv, job);
  }

  async #failed(job: DeleteJob, error: unknown): Promise<void> {
    const attempts = job.attempts + 1;
    this.#log.warn("telegram delete failed", { attempts, error: describe(error) });
    await dropDeleteJob(this.#kv, job);
    if (attempts < MAX_DELETE_ATTEMPTS) {
      await saveDeleteJob(this.#kv, { ...job, attempts }, this.#clock.now());
    } else {
      this.#log.error("telegram delete given up", { chat_id: job.chatId });
    }
  }
}

function jobKey(job: { chatId: string; messageId: number }): string {
  return `${job.chatId}:${job.messageId}`;
}

/** "Message to delete not found" and "message can't be deleted": nothing more to do. */
function alreadyGone(error: unknown): boolean {
  return error instanceof GrammyError && error.error_code === 400 &&
    /message to delete not found|message can't be deleted/i.test(error.description);
}

function describe(error: unknown): string {
  return error instanceof GrammyError ? `${error.error_code} ${error.description}` : String(error);
}
