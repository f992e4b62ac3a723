import { Hono } from "hono";
import type { AppEnv } from "../web/env.ts";

/**
 * `GET /.well-known/jwks.json`: the public keys access tokens may be signed with, for any
 * backend to verify them offline. Cached five minutes: a standby key is published that long
 * (`SIGNING_KEY_PUBLISH_SECONDS`) before it signs, so no verifier meets an unknown `kid`.
 */
export const wellKnownRoutes = new Hono<AppEnv>()
  .get("/jwks.json", async (c) => {
    const ctx = c.get("ctx");
    // A key created or revoked on another instance shows here within a second too.
    await ctx.tokens.keys.refresh();
    const keys = ctx.tokens.keys.jwks(ctx.clock.now(), ctx.tokens.accessTtlSeconds * 1000);
    c.header("Cache-Control", "public, max-age=300");
    return c.json({ keys });
  });
