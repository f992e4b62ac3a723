import assert from "node:assert/strict";
import { sign } from "../../core/delivery/http_provider.ts";

Deno.test("webhook provider - the signature is HMAC-SHA256 hex, as openssl computes it", async () => {
  // printf '%s' '{"to":"+14155550100","text":"hi"}' | openssl dgst -sha256 -hmac s3cret
  assert.equal(
    await sign("s3cret", '{"to":"+14155550100","text":"hi"}'),
    "sha256=83c0f5bed1fd802396c1c0d493a813a78675343e725c69e6093dc2943b8e0c33",
  );
});
