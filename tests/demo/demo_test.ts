import assert from "node:assert/strict";
import { issueDemoLink } from "../../core/auth/demo_links.ts";
import { hashRefreshToken } from "../../core/auth/tokens.ts";
import { loadConfig } from "../../core/config.ts";
import { getDemoLink } from "../../kv/demo_links.ts";
import { baseEnv } from "../../bench/doorman_process.ts";
import { portHolder, runToEnd } from "../fixtures/startup.ts";
import { startHarness } from "../helpers.ts";
import { CAST_SIZE, PACE, startTimes } from "../../demo/simulator.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LINK = /http:\/\/localhost:(\d+)\/admin\/demo\?token=[A-Za-z0-9_-]{43}/;
const REPRINTED = />>> Dashboard.*?(http:\/\/localhost:\d+\/admin\/demo\?token=[A-Za-z0-9_-]{43})/g;

/** Polls `read` until it gives a value, for `ms` at most. */
async function waitFor<T>(read: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** `name=value` of the dashboard's session cookie in a response, if it sets one. */
function sessionCookieOf(res: Response): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith("doorman_session="))?.split(";")[0];
}

Deno.test("demo - deno task demo prints a one-time admin link to a dashboard that comes alive", async () => {
  const started = Date.now();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "demo"],
    cwd: ROOT,
    env: { PORT: String(port), DEMO_LINK_EVERY_SECONDS: "2" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const output: string[] = [];
  let found!: (link: string) => void;
  const printed = new Promise<string>((resolve) => found = resolve);
  const read = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output.push(chunk);
      const link = LINK.exec(output.join(""))?.[0];
      if (link) found(link);
    }
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  try {
    const link = await Promise.race([
      printed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no link in 20 s:\n${output.join("")}`)), 20_000)
      ),
    ]);
    assert.equal(LINK.exec(link)![1], String(port));
    const base = `http://127.0.0.1:${port}`;

    const opened = await fetch(link, { redirect: "manual" });
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get("location"), "/admin");
    const cookie = sessionCookieOf(opened);
    assert.ok(cookie, "the link sets the dashboard's session cookie");
    assert.match(opened.headers.getSetCookie().join("\n"), /HttpOnly; SameSite=Strict/);
    await opened.body?.cancel();
    const dashboard = await fetch(`${base}/admin`, { headers: { cookie } });
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.headers.get("content-type") ?? "", /^text\/html/);
    await dashboard.body?.cancel();

    // The simulated people sign in, stay online and mistype codes: the stats show it.
    let stats: { users: { online: number }; otp: Record<string, number> } | null = null;
    while (Date.now() - started < 30_000) {
      const res: Response = await fetch(`${base}/api/v1/admin/stats`, { headers: { cookie } });
      assert.equal(res.status, 200);
      stats = await res.json();
      if (stats!.users.online >= 3 && stats!.otp.verified >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(stats!.users.online >= 3, `online: ${JSON.stringify(stats)}`);
    assert.ok(stats!.otp.requested >= 3 && stats!.otp.verified >= 3, JSON.stringify(stats!.otp));

    const again = await fetch(link, { redirect: "manual" });
    assert.equal(again.status, 403, "the link works once");
    assert.equal(sessionCookieOf(again), undefined);
    await again.body?.cancel();

    // Printed last: after the demo's own lines.
    const text = output.join("");
    assert.ok(text.indexOf("Simulating") < text.indexOf(link), text);
    // On Enter, and every few seconds, a link is printed again: a new one, as this one is used.
    await stdin.write(new TextEncoder().encode("\n"));
    const fresh = await waitFor(() => {
      const links = [...output.join("").matchAll(REPRINTED)].map((m) => m[1]);
      return links.find((l) => l !== link);
    }, 5_000);
    const reopened = await fetch(fresh, { redirect: "manual" });
    assert.equal(reopened.status, 303, "the link printed again signs in");
    await reopened.body?.cancel();
    assert.doesNotMatch(output.join(""), /legacy behavior|request\.signal/, "no Deno warning");
  } finally {
    await stdin.close().catch(() => {});
    child.kill("SIGTERM");
    await child.status;
    await reading;
  }
  const stopping = output.join("").match(/\bstopping\b/g) ?? [];
  assert.equal(stopping.length, 1, "stopping is said once");
});

Deno.test("demo - people arrive one by one and stay a short while, so something happens every few seconds", () => {
  const starts = startTimes();
  assert.equal(starts.length, CAST_SIZE);
  assert.ok(starts.filter((t) => t < 1).length >= 3, "a few at once fill the dashboard");
  const gaps = starts.slice(1).map((t, i) => t - starts[i]);
  assert.ok(Math.max(...gaps) <= 3, `arrivals at most 3 s apart: ${starts}`);
  assert.ok(starts.at(-1)! >= 20, "arrivals go on for the first half minute");
  assert.ok(
    PACE.online[1] <= 60 && PACE.rest[1] <= 30,
    "visits end and start again within a minute",
  );
});

Deno.test("demo - the link signs in once, within 10 minutes, and only its hash is stored", async () => {
  await using h = await startHarness({ env: { APP_ENV: "development", DEMO: "true" } });
  const token = await issueDemoLink(h.ctx);
  assert.equal((await getDemoLink(h.ctx.kv, token)).value, null);
  assert.ok((await getDemoLink(h.ctx.kv, await hashRefreshToken(token))).value);

  const opened = await h.get(`/admin/demo?token=${token}`);
  assert.equal(opened.status, 303);
  const cookie = sessionCookieOf(opened)!;
  const stats = await h.app.request("/api/v1/admin/stats", { headers: { cookie } });
  assert.equal(stats.status, 200, "the demo admin is an admin");
  await stats.body?.cancel();

  const used = await h.get(`/admin/demo?token=${token}`);
  assert.equal(used.status, 403);
  assert.match(await used.text(), /used already or has expired/);
  for (const bad of ["", "nope", "x".repeat(43), `${token}x`]) {
    const res = await h.get(`/admin/demo?token=${encodeURIComponent(bad)}`);
    assert.equal(res.status, 403, bad);
    await res.body?.cancel();
  }

  const late = await issueDemoLink(h.ctx);
  h.clock.advance(10 * 60_000);
  const expired = await h.get(`/admin/demo?token=${late}`);
  assert.equal(expired.status, 403);
  await expired.body?.cancel();
});

Deno.test("demo - two browsers opening the link at once: one is signed in, the other refused", async () => {
  await using h = await startHarness({ env: { APP_ENV: "development", DEMO: "true" } });
  const token = await issueDemoLink(h.ctx);
  const opened = await Promise.all([1, 2, 3].map(() => h.get(`/admin/demo?token=${token}`)));
  assert.deepEqual(opened.map((res) => res.status).sort(), [303, 403, 403]);
  assert.equal(opened.filter((res) => sessionCookieOf(res)).length, 1);
  for (const res of opened) await res.body?.cancel();
});

Deno.test("demo - outside development the link route is 404, and DEMO is refused outside development", async () => {
  for (const env of [{ APP_ENV: "test" }, { APP_ENV: "production" }]) {
    await using h = await startHarness({ env });
    const token = await issueDemoLink(h.ctx);
    const res = await h.get(`/admin/demo?token=${token}`);
    assert.equal(res.status, 404, env.APP_ENV);
    assert.equal(sessionCookieOf(res), undefined);
    await res.body?.cancel();
  }
  // In development (`deno task dev` prints one while no admin exists) a link this process made
  // works, and nothing else does; a test recipient's address as the demo admin turns them off.
  {
    await using h = await startHarness({ env: { APP_ENV: "development" } });
    const res = await h.get(`/admin/demo?token=${await issueDemoLink(h.ctx)}`);
    assert.equal(res.status, 303);
    await res.body?.cancel();
  }
  {
    await using h = await startHarness({
      env: { APP_ENV: "development", OTP_TEST_RECIPIENTS: "demo-admin@example.com=123456" },
    });
    const res = await h.get(`/admin/demo?token=${await issueDemoLink(h.ctx)}`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  }
  for (const APP_ENV of ["test", "production"]) {
    assert.throws(
      () => loadConfig({ APP_ENV, DEMO: "true", JWT_SECRET: "x".repeat(32) }),
      /DEMO: only with APP_ENV=development/,
    );
  }
});

Deno.test("demo - a PORT already in use exits 1 at once and drives nobody else's server", async () => {
  const holder = portHolder();
  try {
    // What `deno task demo` runs, started directly: a kill on timeout then reaches it.
    const run = await runToEnd(
      ["run", "--allow-all", "demo/main.ts"],
      { ...baseEnv(), PORT: String(holder.port) },
      30_000,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.ms < 15_000, `took ${run.ms} ms`);
    assert.match(run.stderr, new RegExp(`port ${holder.port} is already in use.*\\bPORT\\b`));
    assert.doesNotMatch(run.stdout, /Simulating/);
    // Give a simulator that started anyway the time to reach the other server.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(holder.requests(), 0, "the other server was never called");
  } finally {
    await holder.close();
  }
});
