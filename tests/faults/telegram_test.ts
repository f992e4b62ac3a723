/**
 * Faults of the Telegram bot channel (grammY against the fake Bot API), through the app. Every
 * fault is met twice: `auto` for a phone linked to a chat must fall back to SMS (202, channel
 * `sms`); `channel: "telegram"` has nothing to fall back to (503). What core/telegram/runtime.ts
 * claims: the Bot API answers an error only for a message it did not send, so a 4xx (429
 * included) gives the attempt back; a 5xx, a broken connection or a timeout may have sent it;
 * a refused connection sent nothing. A `retry_after` of 5 s or less is waited out (twice at
 * most), a longer one fails at once. Hangs at the full 10 s deadline: hangs_test.ts.
 */
import assert from "node:assert/strict";
import type { ConnectionFailure, InjectedFailure } from "../../fakes/telegram.ts";
import { PERSON } from "../telegram/helpers.ts";
import {
  startLinkedTelegram,
  TELEGRAM_PHONE,
  TELEGRAM_SEND_TIMEOUT_MS,
  TELEGRAM_VARIANTS,
  TELEGRAM_WARMUP,
  telegramFault,
} from "./providers.ts";
import { assertFault } from "./scenario.ts";

const FAST_MS = 2_000;

const FAULTS: {
  name: string;
  failure: InjectedFailure | ConnectionFailure;
  /** How many sends meet it (default 1). */
  times?: number;
  counted: boolean;
  lastError: RegExp;
}[] = [
  {
    name: "answers 429 with a retry_after longer than it waits (30 s): not sent, given back",
    failure: {
      error_code: 429,
      description: "Too Many Requests: retry after 30",
      retry_after: 30,
    },
    counted: false,
    lastError: /^telegram answered 429: Too Many Requests: retry after 30$/,
  },
  {
    name: "answers 500: may have sent, still counts",
    failure: { error_code: 500, description: "Internal Server Error" },
    counted: true,
    lastError: /^telegram answered 500: Internal Server Error$/,
  },
  {
    name: "answers nginx's HTML 502 Bad Gateway: may have sent, still counts",
    failure: "bad-gateway",
    counted: true,
    lastError: /^telegram answered 502|bad gateway/i,
  },
  {
    name: "sends the message, then closes the connection before answering",
    failure: "drop",
    // Deno's fetch sends a POST again when a kept-alive connection closes before any answer
    // (see "sends once" below): the fault meets both sends.
    times: 2,
    counted: true,
    lastError: /^telegram connection (failed|closed|lost)/,
  },
  {
    name: "sends the message, then closes the connection halfway through the answer",
    failure: "cut",
    counted: true,
    lastError: /^telegram (connection (failed|closed|lost)|answer (was )?(cut|incomplete))/,
  },
];

for (const variant of TELEGRAM_VARIANTS) {
  for (const fault of FAULTS) {
    Deno.test(`faults: telegram ${fault.name} — ${variant.name}`, async () => {
      await using t = await startLinkedTelegram();
      await assertFault(telegramFault(t, variant, {
        breakIt: () => t.tg.failNext("sendMessage", fault.failure, fault.times),
        counted: fault.counted,
        lastError: fault.lastError,
        withinMs: FAST_MS,
      }));
      if (fault.failure === "drop" || fault.failure === "cut") {
        const sent = t.tg.messages.filter((m) => m.chat_id === PERSON.id && /<code>/.test(m.text));
        assert.ok(sent.length >= 2, "the bot's failed send did reach the chat");
      }
    });
  }

  Deno.test(`faults: telegram refuses the connection (nothing listens) — ${variant.name}`, async () => {
    await using t = await startLinkedTelegram();
    await assertFault(telegramFault(t, variant, {
      breakIt: () => t.tg.refuseConnections(),
      fixIt: () => t.tg.refuseConnections(false),
      counted: false,
      lastError: /^telegram could not be reached$/,
      withinMs: FAST_MS,
    }));
  });
}

Deno.test("faults: telegram answers 429 retry_after 1 to every try: waited out twice, then SMS", async () => {
  await using t = await startLinkedTelegram();
  const sendsBefore = t.tg.calls.filter((c) => c.method === "sendMessage").length;
  await assertFault(telegramFault(t, TELEGRAM_VARIANTS[0], {
    breakIt: () =>
      t.tg.failNext("sendMessage", {
        error_code: 429,
        description: "Too Many Requests: retry after 1",
        retry_after: 1,
      }, 3),
    counted: true,
    lastError: /^telegram answered 429: Too Many Requests: retry after 1$/,
    withinMs: TELEGRAM_SEND_TIMEOUT_MS,
    atLeastMs: 2_000,
  }));
  // The warm-up, three tries, and the send after recovery.
  const sends = t.tg.calls.filter((c) => c.method === "sendMessage").length - sendsBefore;
  assert.equal(sends, 5);
});

Deno.test("faults: telegram drops the answer to a send once: the code message is sent once", async () => {
  // The Bot API sent the message, then the connection closed before its answer. Sending it
  // again leaves a second code message the bot knows nothing of, so it never deletes itself.
  await using t = await startLinkedTelegram();
  const res0 = await t.h.post("/api/v1/auth/otp/request", { phone: TELEGRAM_WARMUP });
  assert.equal(res0.status, 202, "a warm, kept-alive connection to the Bot API");
  await res0.body?.cancel();
  const before = t.tg.calls.filter((c) => c.method === "sendMessage").length;
  t.tg.failNext("sendMessage", "drop");
  const res = await t.h.post("/api/v1/auth/otp/request", { phone: TELEGRAM_PHONE });
  const body = await res.json();
  const sends = t.tg.calls.filter((c) => c.method === "sendMessage").length - before;
  const codeMessages = t.tg.visible(PERSON.id).filter((m) => /<code>/.test(m.text));
  assert.equal(
    sends,
    1,
    `one request made ${sends} sendMessage calls (answer ${res.status} via ${body.channel}); ` +
      `${codeMessages.length} code messages are in the chat`,
  );
});
