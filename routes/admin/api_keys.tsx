/** `/admin/api-keys`: server API keys for app backends: list, create (secret once), revoke. */
import { Hono } from "hono";
import { listAdminApiKeys, SCOPES } from "../../core/auth/api_keys.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import ApiKeysPanel from "../../islands/ApiKeysPanel.tsx";
import { adminPage } from "./_page.tsx";

/** The keys page: what each key may do, who made it, when it was last used. */
export const apiKeysPage = new Hono<AppEnv>()
  .get("/api-keys", async (c) => {
    const initial = await listAdminApiKeys(c.get("ctx"));
    return adminPage(
      c,
      { title: "API keys", path: "/admin/api-keys" },
      <>
        <p class="lead muted">
          Secret keys an app's backend calls the admin API with, each limited to its scopes.
        </p>
        <Island
          name="ApiKeysPanel"
          component={ApiKeysPanel}
          props={{ initial, scopes: [...SCOPES] }}
        />
      </>,
    );
  });
