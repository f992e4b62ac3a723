/**
 * Doorman's entry point: read the configuration, open KV, build the context and the HTTP
 * app, then start every background activity in plain sight — the socket hub's subscription,
 * the event tail, Telegram updates, the cron jobs, the server — and stop them all, in
 * reverse, on SIGTERM or SIGINT.
 */
import { createApp } from "./app.ts";
import {
  adminExists,
  DEMO_ADMIN_EMAIL,
  DEMO_LINK_TTL_MS,
  demoLinksEnabled,
  demoLinkUsable,
  issueDemoLink,
} from "./core/auth/demo_links.ts";
import { type Config, ConfigError, loadConfig } from "./core/config.ts";
import { createContext } from "./core/context.ts";
import { CRON_JOBS } from "./core/jobs/cron.ts";
import { Lifecycle, logUnhandledRejections, watchAncestors, within } from "./core/lifecycle.ts";
import { startEventTail } from "./core/live/tail.ts";
import { flushLog } from "./core/log.ts";
import { openKv } from "./kv/open.ts";
import { loadAssets } from "./web/assets.ts";
import { openFilesLimit, serveForever } from "./web/serve.ts";

/** How long requests in flight may take to finish after a stop signal. */
const DRAIN_MS = 10_000;

let listened: (addr: Deno.NetAddr) => void = () => {};
/**
 * Resolves once this process listens, with its address: `deno task demo` runs this module and
 * waits on it, not on whatever answers `/health` on the port.
 */
export const listening: Promise<Deno.NetAddr> = new Promise((resolve) => listened = resolve);

let config: Config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}

const mayBuild = Deno.permissions.querySync({ name: "run" }).state === "granted";
if (config.appEnv === "development" && mayBuild) {
  // `deno task dev` (which may run `deno bundle`) restarts on every change; the islands
  // bundle is rebuilt with it. `deno task start` serves the last `deno task build`.
  const { buildIslands } = await import("./web/build.ts");
  const { file } = await buildIslands({ minify: false });
  console.log(`Built static/build/${file}`);
}

const kv = await openKv(config.kvPath).catch((error) => {
  // A refused DENO_KV_ACCESS_TOKEN, an unreachable KV server, a file that is no database: said
  // in one line that names the variable to change.
  const where = config.kvPath === undefined ? "the platform's KV" : `KV_PATH=${config.kvPath}`;
  console.error(
    `Cannot start: cannot open ${where} (${error instanceof Error ? error.message : error}): ` +
      "set KV_PATH to a file this process may write, :memory:, or a KV Connect URL",
  );
  Deno.exit(1);
});
const ctx = await createContext(config, kv).catch((error) => {
  // What the stored data contradicts in the configuration (a test recipient that is an admin).
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
});
// From here on the process serves: a rejection nobody handled is a bug to log, not a crash.
const stopLoggingRejections = logUnhandledRejections(ctx.log);
const assets = await loadAssets();
if (!assets.bundleUrl) {
  ctx.log.error("the dashboard's islands bundle is missing: run `deno task build`");
}
const app = createApp(ctx, { assets });
const channels = Object.entries(ctx.delivery.health()).filter(([, h]) => h.configured);
if (channels.length === 0) {
  ctx.log.warn("no delivery channel is configured: every code request will answer 503", {
    hint: "set SMS_PROVIDER, EMAIL_PROVIDER or TELEGRAM_BOT_TOKEN",
  });
}

const life = new Lifecycle(ctx.log);
life.add("rejection log", stopLoggingRejections);
life.add("kv", () => kv.close());
life.add("context", () => ctx.close());
life.add("socket hub", ctx.presence.hub.follow(ctx.bus));
life.add("sign-in cache", ctx.sessionCache.follow(ctx.bus));
life.add("API key cache", ctx.apiKeys.follow(ctx.bus));
life.add("presence cache", ctx.presence.cache.follow(ctx.bus));
life.add("presence visibility", ctx.presence.visibility.follow(ctx.bus));
life.add("event tail", startEventTail(ctx));

if (ctx.telegram) {
  const { webhookSecret } = config.telegram;
  if (config.publicUrl.startsWith("https://") && webhookSecret) {
    ctx.telegram.registerWebhook(`${config.publicUrl}/telegram/webhook`, webhookSecret).catch(
      (error) => ctx.log.error("telegram webhook registration failed", { error: String(error) }),
    );
  } else if (config.appEnv !== "production") {
    // No public https URL to receive webhooks: fetch updates instead (stopped with the context).
    ctx.telegram.startPolling();
  } else {
    ctx.log.warn("telegram: PUBLIC_URL is not https, so no webhook is registered", {
      hint: "set PUBLIC_URL to your https address, or run `deno task telegram:webhook`",
    });
  }
}

// Deno.cron must be called at the top level of the main module (Deno Deploy reads it there).
const runJob = async (job: (typeof CRON_JOBS)[number]) => {
  try {
    await job.run(ctx);
  } catch (error) {
    ctx.log.error("cron job failed", { job: job.name, error: String(error) });
  }
};
for (const job of CRON_JOBS) Deno.cron(job.name, job.schedule, () => runJob(job));
// Once at start too: after a restart, Telegram messages due for deletion and users whose
// silence ran out need not wait for the next whole minute.
const startupJobs = setTimeout(() => CRON_JOBS.forEach(runJob), 1_000);
life.add("startup jobs", () => clearTimeout(startupJobs));

const files = await openFilesLimit();
if (files && files.soft < 4096) {
  ctx.log.warn("the open-files limit is low: each connection takes one", {
    soft: files.soft,
    hard: files.hard,
    hint: "raise it (ulimit -n, LimitNOFILE=, docker --ulimit nofile=65536:65536)",
  });
}
const server = listenOrExit(config.port, () =>
  serveForever(
    {
      port: config.port,
      onListen: (addr) => {
        listened(addr);
        const { hostname, port } = addr;
        ctx.log.info("Doorman is listening", {
          url: `http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port}`,
          env: config.appEnv,
          sms: config.sms.provider,
          email: config.email.provider,
          // Reading /proc/self/limits takes --allow-all in Deno 2.9: "unknown" under `start`.
          open_files: files ? files.soft : "unknown",
        });
        // The demo prints its own links, after its own lines (`dashboardLink`).
        if (config.appEnv === "development" && !config.demo) printWayIn(port);
      },
    },
    (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }),
    ctx.log,
  ));
life.add("http server", async () => {
  // Let requests begun finish (bodies still arriving too) while new ones hear 503, end event
  // streams and close sockets (1001), then stop listening.
  const finished = server.shutdown();
  ctx.drain();
  if (!await within(finished, DRAIN_MS)) {
    ctx.log.warn("requests still running after the drain time: stopping anyway");
  }
});

// Under `deno task dev` (`--watch`), exiting ends only this run of main.ts and the watcher
// waits for file changes: a stopped dev server ends its whole process instead.
const watching = config.appEnv === "development" && mayBuild && await isWatching();
let stopping = false;
const stop = (reason: string) => {
  // `deno task` passes a Ctrl-C on while the terminal sends it to the whole group, and a
  // watched parent may go too: one stop, said once.
  if (stopping) return;
  stopping = true;
  ctx.log.info("stopping", { reason });
  life.close().then(() => {
    flushLog();
    if (watching) Deno.kill(Deno.pid, "SIGKILL");
    Deno.exit(0);
  });
};
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => stop(signal));
}
if (watching) {
  // `npx deno task dev` stopped with SIGTERM ends npx only: stop with whoever started us.
  life.add("ancestor watch", await watchAncestors(() => stop("its parent process exited")));
}

/**
 * Starts listening, or ends the process with one line naming the port and `PORT`: a server
 * that cannot take its port must not look started (the demo, a supervisor would talk to
 * whatever holds it).
 */
function listenOrExit<T>(port: number, listen: () => T): T {
  try {
    return listen();
  } catch (error) {
    console.error(
      error instanceof Deno.errors.AddrInUse
        ? `Cannot start: port ${port} is already in use: stop what listens there, or set PORT to a free port`
        : `Cannot start: cannot listen on port ${port} (${
          error instanceof Error ? error.message : error
        }): set PORT to a port this process may use`,
    );
    Deno.exit(1);
  }
}

/**
 * `deno task dev` with no admin yet: says how to get into the dashboard, with a one-time link
 * that signs this browser in as an admin (development only; the link is like the demo's).
 */
function printWayIn(port: number): void {
  adminExists(ctx).then(async (exists) => {
    if (exists) return;
    const lines = [
      "",
      "No admin yet. To get into the dashboard (development only):",
      `  - restart with ADMIN_EMAILS=you@example.com (or ADMIN_PHONES=+1…) and sign in at`,
      `    http://localhost:${port}/admin with that address: its code is printed here`,
    ];
    if (demoLinksEnabled(config)) {
      const token = await issueDemoLink(ctx);
      lines.push(
        `  - or open this one-time link (${
          DEMO_LINK_TTL_MS / 60_000
        } minutes), which signs you in as ` +
          `${DEMO_ADMIN_EMAIL}:`,
        `    http://localhost:${port}/admin/demo?token=${token}`,
      );
    }
    flushLog(); // after the lines logged before it
    console.log(`${lines.join("\n")}\n`);
  }).catch((error) => ctx.log.error("the way-in hint failed", { error: String(error) }));
}

/**
 * A one-time link that signs a browser into the dashboard as an admin (development only;
 * `deno task demo` prints them): `previous` again while it is unused and good for another
 * minute, else a new one.
 */
export async function dashboardLink(previous?: string): Promise<{ url: string; token: string }> {
  if (!demoLinksEnabled(config)) throw new Error("dashboard links work in development only");
  const { port } = await listening;
  const token = previous && await demoLinkUsable(ctx, previous, 60_000)
    ? previous
    : await issueDemoLink(ctx);
  return { url: `http://localhost:${port}/admin/demo?token=${token}`, token };
}

/** Whether this process runs under `--watch` (its command line says so; needs `--allow-all`). */
async function isWatching(): Promise<boolean> {
  try {
    return (await Deno.readTextFile("/proc/self/cmdline")).split("\0").includes("--watch") ||
      (await Deno.readTextFile("/proc/self/cmdline")).includes("--watch=");
  } catch {
    return false;
  }
}
