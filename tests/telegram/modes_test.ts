import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.ts";
import { startFakeTelegram, textUpdate } from "../../fakes/telegram.ts";
import { waitFor } from "../helpers.ts";
import { PERSON, startTelegramHarness, WEBHOOK_SECRET } from "./helpers.ts";

Deno.test("telegram - without a public URL the bot long-polls for updates", async () => {
  await using t = await startTelegramHarness({ clock: systemClock });
  t.h.ctx.telegram!.startPolling();
  t.tg.pushUpdate(textUpdate({ from: PERSON, text: "/start" }));
  await waitFor(() => t.tg.messages.some((m) => m.chat_id === PERSON.id), 5_000);
  assert.match(t.tg.messages[0].text, /Share your phone number once/);
  assert.ok(t.tg.calls.some((c) => c.method === "getUpdates"));
});

Deno.test("telegram - `deno task telegram:webhook` registers the webhook with its secret", async () => {
  await using tg = startFakeTelegram({ token: "123456:TEST" });
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "telegram:webhook"],
    env: {
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      PUBLIC_URL: "https://doorman.example.com",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(run.stdout);
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  assert.match(out, /Webhook registered: https:\/\/doorman\.example\.com\/telegram\/webhook/);
  assert.deepEqual(tg.webhook, {
    url: "https://doorman.example.com/telegram/webhook",
    secret_token: WEBHOOK_SECRET,
    allowed_updates: ["message"],
  });

  const refused = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "telegram:webhook"],
    env: { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot, PUBLIC_URL: "http://x.io" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(refused.code, 1);
  assert.match(new TextDecoder().decode(refused.stderr), /TELEGRAM_WEBHOOK_SECRET/);
});
