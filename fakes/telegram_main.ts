/**
 * Runs the fake Telegram Bot API for local development and logs every call. Lines typed on stdin
 * as `<user id> <text>` arrive at the bot as that person's private message (via getUpdates).
 *
 *   deno run --allow-net --allow-env fakes/telegram_main.ts
 */
import { type BotApiCall, startFakeTelegram, textUpdate } from "./telegram.ts";

function logCall(call: BotApiCall) {
  // Uploaded files would print as {}; their name and size say more.
  const payload = JSON.stringify(
    call.payload,
    (_key, value) => value instanceof File ? `<file ${value.name}, ${value.size} bytes>` : value,
  );
  console.log(`${new Date(call.at).toISOString()} ${call.method} ${payload}`);
}

async function relayStdin() {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    const complete = buffered.split("\n");
    buffered = complete.pop() ?? "";
    for (const line of complete) {
      const typed = /^\s*(\d+)\s+(.+?)\s*$/.exec(line);
      if (!typed) {
        if (line.trim()) console.log("type: <user id> <text>, e.g. 42 /start");
        continue;
      }
      const update = fake.pushUpdate(
        textUpdate({ from: { id: Number(typed[1]) }, text: typed[2] }),
      );
      console.log(`queued update ${update.update_id} from ${typed[1]}: ${typed[2]}`);
    }
  }
}

const port = Number(Deno.env.get("FAKE_TELEGRAM_PORT") ?? 8081);
const token = Deno.env.get("TELEGRAM_BOT_TOKEN") ?? "123456:TEST";
const fake = startFakeTelegram({ port, token, onCall: logCall });

console.log(`Fake Telegram Bot API for @${fake.bot.username} on ${fake.apiRoot}`);
console.log("Point Doorman at it:");
console.log(`  TELEGRAM_API_ROOT=${fake.apiRoot} TELEGRAM_BOT_TOKEN=${fake.token} deno task dev`);
console.log("Type `<user id> <text>` to message the bot as that user; Ctrl-C stops.");

Deno.addSignalListener("SIGINT", async () => {
  await fake.close();
  console.log("fake Telegram stopped");
  Deno.exit(0);
});
relayStdin();
