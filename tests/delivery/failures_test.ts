import assert from "node:assert/strict";
import { DeliveryError } from "../../core/delivery/channel.ts";
import { codeMessage } from "../../core/delivery/messages.ts";
import { httpProviderChannel } from "../../core/delivery/http_provider.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";

async function failure(send: () => Promise<unknown>): Promise<DeliveryError> {
  const error = await send().then(() => null, (e) => e);
  assert.ok(error instanceof DeliveryError, String(error));
  return error;
}

Deno.test("delivery failures - say whether the message may have gone out", async () => {
  const message = codeMessage("123456", 300);
  // Nothing listens: the provider was never reached, nothing can have been sent.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/send`;
  listener.close();
  const down = await failure(() =>
    httpProviderChannel("sms", { url: closed }).send("+14155550100", message)
  );
  assert.equal(down.mayHaveSent, false, down.message);

  await using receiver = startWebhookReceiver();
  const channel = httpProviderChannel("sms", { url: receiver.url, timeoutMs: 200 });
  // It answered an error: it may have taken the message first.
  receiver.mode = { kind: "status", status: 500 };
  const answered = await failure(() => channel.send("+14155550100", message));
  assert.equal(answered.mayHaveSent, true);
  assert.equal(answered.message, "sms webhook answered 500");
  // It took too long: it may still send it.
  receiver.mode = { kind: "stall" };
  const started = performance.now();
  const late = await failure(() => channel.send("+14155550100", message));
  assert.equal(late.mayHaveSent, true);
  assert.equal(late.message, "sms webhook timed out");
  assert.ok(performance.now() - started < 2_000, "the deadline holds");
});
