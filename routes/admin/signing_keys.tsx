/** `/admin/signing-keys`, under Settings: the keys access tokens are signed with, and rotation. */
import { Hono } from "hono";
import { listSigningKeys } from "../../core/admin/signing_keys.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import SigningKeysPanel from "../../islands/SigningKeysPanel.tsx";
import { adminPage } from "./_page.tsx";

/** The signing keys page: each key's state and dates; create, activate, revoke. */
export const signingKeysPage = new Hono<AppEnv>()
  .get("/signing-keys", async (c) => {
    const ctx = c.get("ctx");
    const initial = await listSigningKeys(ctx);
    return adminPage(
      c,
      {
        title: "Signing keys",
        path: "/admin/settings",
        back: { href: "/admin/settings", label: "Settings" },
      },
      <>
        <p class="lead muted">
          The keys access tokens are signed with, published at{" "}
          <a href="/.well-known/jwks.json">
            /.well-known/jwks.json
          </a>{" "}
          for any backend to verify them. To rotate: create a standby key, wait until it has been
          published long enough for verifiers to have fetched it, activate it, and revoke the
          previous key once its tokens no longer matter.
        </p>
        <Island
          name="SigningKeysPanel"
          component={SigningKeysPanel}
          props={{ initial, publishSeconds: ctx.config.signingKeyPublishSeconds }}
        />
      </>,
    );
  });
