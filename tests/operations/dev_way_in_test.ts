/**
 * `deno task dev` with no admin yet says how to get into the dashboard: `ADMIN_EMAILS=…` and a
 * one-time admin link (development only), and the login page says so too. Real `main.ts`
 * processes on a temporary KV file.
 */
import assert from "node:assert/strict";
import {
  baseEnv,
  type DoormanProcess,
  outputOf,
  startDoorman,
  stopDoorman,
} from "../../bench/doorman_process.ts";
import { startHarness, TEST_SECRET } from "../helpers.ts";

const LINK = /http:\/\/localhost:(\d+)(\/admin\/demo\?token=[A-Za-z0-9_-]{43})/;

/** Everything `server` printed to stdout once `pattern` shows (or `ms` passed). */
async function printed(server: DoormanProcess, pattern: RegExp, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  while (!pattern.test(server.stdout.join("\n")) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return server.stdout.join("\n");
}

/** `name=value` of the dashboard's session cookie in a response, if it sets one. */
function sessionCookieOf(res: Response): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith("doorman_session="))?.split(";")[0];
}

Deno.test("dev way in - no admin: the start says ADMIN_EMAILS and prints a one-time admin link; the login page says so", async () => {
  const dir = await Deno.makeTempDir();
  const env = { ...baseEnv(), APP_ENV: "development", KV_PATH: `${dir}/kv.sqlite`, PORT: "0" };
  try {
    const server = await startDoorman("dev", env);
    try {
      const out = await printed(server, LINK, 5_000);
      assert.match(out, /No admin yet/, outputOf(server));
      assert.match(out, /ADMIN_EMAILS=you@example\.com/);
      const [, port, path] = out.match(LINK)!;
      assert.equal(port, new URL(server.url).port, "the link names the port listened on");

      const login = await fetch(`${server.url}/admin/login`);
      assert.equal(login.status, 200);
      const page = await login.text();
      assert.match(page, /data-testid="dev-way-in"/);
      assert.match(page, /ADMIN_EMAILS=you@example\.com/);

      const opened = await fetch(`${server.url}${path}`, { redirect: "manual" });
      assert.equal(opened.status, 303);
      await opened.body?.cancel();
      const cookie = sessionCookieOf(opened)!;
      assert.ok(cookie, "the link signs this browser in");
      const dashboard = await fetch(`${server.url}/admin`, { headers: { cookie } });
      assert.equal(dashboard.status, 200);
      await dashboard.body?.cancel();
      // Signed in already: the login page sends the admin on to the dashboard.
      const again = await fetch(`${server.url}/admin/login`, {
        headers: { cookie },
        redirect: "manual",
      });
      assert.equal(again.status, 303);
      assert.equal(again.headers.get("location"), "/admin");
      await again.body?.cancel();
      const used = await fetch(`${server.url}${path}`, { redirect: "manual" });
      assert.equal(used.status, 403, "the link works once");
      await used.body?.cancel();

      // Ctrl-C twice and a SIGTERM: one "stopping", a clean exit.
      server.child.kill("SIGINT");
      server.child.kill("SIGINT");
      server.child.kill("SIGTERM");
    } finally {
      const stopped = await stopDoorman(server, "SIGTERM");
      assert.equal(stopped.code, 0, outputOf(server));
    }
    const stopping = [...server.stdout, ...server.stderr].filter((l) => /\bstopping\b/.test(l));
    assert.equal(stopping.length, 1, stopping.join("\n"));

    // Started again on the same KV: the admin the link made exists, so no hint and no link.
    const restarted = await startDoorman("dev again", env);
    try {
      const health = await fetch(`${restarted.url}/health`);
      await health.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.doesNotMatch(restarted.stdout.join("\n"), /No admin yet|admin\/demo\?token=/);
    } finally {
      await stopDoorman(restarted, "SIGTERM");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dev way in - never outside development, nor with ADMIN_EMAILS set", async () => {
  // Production logs JSON lines (no "listening" line to wait for): its login page, in process.
  for (const APP_ENV of ["production", "test"]) {
    await using h = await startHarness({ env: { APP_ENV } });
    const login = await h.get("/admin/login");
    assert.equal(login.status, 200);
    const page = await login.text();
    assert.doesNotMatch(page, /dev-way-in|ADMIN_EMAILS/, APP_ENV);
    assert.match(page, /Admin sign-in/);
  }
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [i, extra] of ([
        { APP_ENV: "test", JWT_SECRET: TEST_SECRET, SMS_PROVIDER: "none" },
        { APP_ENV: "development", ADMIN_EMAILS: "admin@example.com" },
      ] as Record<string, string>[]).entries()
    ) {
      const server = await startDoorman(extra.APP_ENV, {
        ...baseEnv(),
        ...extra,
        KV_PATH: `${dir}/kv${i}.sqlite`,
        PORT: "0",
      });
      try {
        const login = await fetch(`${server.url}/admin/login`);
        const page = await login.text();
        assert.equal(login.status, 200);
        assert.equal(/dev-way-in/.test(page), extra.APP_ENV === "development", extra.APP_ENV);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.doesNotMatch(server.stdout.join("\n"), /No admin yet|admin\/demo\?token=/);
      } finally {
        await stopDoorman(server, "SIGTERM");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
