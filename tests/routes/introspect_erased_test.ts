import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";
import { ADMIN, call, json } from "./admin_helpers.ts";
import { createKey } from "./api_key_helpers.ts";

const ENV = { ADMIN_PHONES: ADMIN, OTP_RESEND_COOLDOWN_SECONDS: "0" };

Deno.test("introspect: an erased user's unexpired access token is inactive at once", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const { secret } = await createKey(h, admin.access_token, ["presence:read"]);
  const user = await h.signIn("+14155550170");
  const ask = async () =>
    await json(
      await call(h, "POST", "/api/v1/auth/introspect", { token: secret }, {
        token: user.access_token,
      }),
    );
  assert.equal((await ask()).active, true);
  const erased = await call(h, "DELETE", "/api/v1/me", { token: user.access_token });
  assert.equal(erased.status, 204);
  // Well within the token's lifetime: still signed, no longer anyone's.
  h.clock.advance(1_000);
  assert.deepEqual(await ask(), { active: false });
});
