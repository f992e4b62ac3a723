import type { Access } from "../core/auth/access.ts";
import type { Caller } from "../core/auth/sessions.ts";
import type { AppContext } from "../core/context.ts";
import type { WebAssets } from "./assets.ts";

/** Hono's typing of Doorman: what `Deno.serve` passes in, and what middleware sets. */
export type AppEnv = {
  Bindings: {
    /** The socket peer, passed by `Deno.serve` in main.ts (absent in `app.request()` tests). */
    remoteAddr?: Deno.NetAddr;
  };
  Variables: {
    ctx: AppContext;
    /** The dashboard's bundle and stylesheet. */
    assets: WebAssets;
    requestId: string;
    /** The client's IP: the socket peer, or `X-Forwarded-For` with `TRUST_PROXY=true`. */
    ip: string;
    caller: Caller;
    /** Who calls the admin API (an admin or an API key) and what they may do. */
    access: Access;
    /** CSP nonce of an HTML page's scripts. */
    nonce: string;
  };
};
