/**
 * One server under load for `bench/mod.ts`, in its own process (pinned to its own core by
 * the caller) so the load generator never shares its CPU. Usage:
 *
 *   deno run --allow-net --allow-read --allow-write --allow-env bench/server.ts <mode> <dir> [pool]
 *
 * `dir` is a fresh temp directory: the KV file lives there, and so do the files the wrk
 * scripts read. Modes:
 * - `bare`: `Deno.serve` answering a fixed JSON body (the HTTP ceiling);
 * - `kv`: one `kv.set` per request (the storage ceiling);
 * - `me`, `heartbeat`, `presence`: 200 signed-in users; writes `tokens.txt` (one access
 *   token a line), `ids.txt` (the first 100 of their user ids) and `all-ids.txt` (all 200);
 * - `presence_private`: as `presence`, and every other one of those 100 users shows their
 *   presence only to their contacts (`PATCH /api/v1/me`), the last 100 users (half of the
 *   callers), set with `PUT /api/v1/me/presence-contacts`;
 * - `request`: nothing to prepare (the wrk script makes up the phones);
 * - `verify`: `pool` code requests for the warm-up, in `pairs-warmup.txt` (`request_id code`
 *   a line); the measured run's are made on `POST /__bench/prepare?n=…&file=measure`, once
 *   the warm-up has shown how many are needed;
 * - `refresh`: `pool` sign-ins each for `refresh-warmup.txt` and `refresh-measure.txt` (one
 *   refresh token a line; the wrk script chains the tokens answers hand back).
 *
 * Once ready it prints one JSON line on stdout, `{"port": …}`; progress goes to stderr.
 * Besides the app it answers `GET /__bench/counters`: requests served and KV operations
 * since the last `POST /__bench/reset`, counted by the wrapper in counting_kv.ts.
 */
import { type Counters, countingKv, zeroCounts } from "./counting_kv.ts";
import { inParallel, startDoorman } from "./doorman.ts";

/** Users signed in for the Bearer targets. */
const USERS = 200;
/** Ids in one `GET /api/v1/presence?user_ids=` (the API's maximum). */
const PRESENCE_IDS = 100;

const [mode, dir, poolArg] = Deno.args;
const pool = Number(poolArg ?? 0);
const counts = zeroCounts();
const kv = countingKv(await Deno.openKv(`${dir}/kv.sqlite`), counts);
let served = 0;
/** More preparation between the warm-up and the measured run (`verify` only). */
let prepareMore: ((n: number, file: string) => Promise<void>) | null = null;

/** Serves on a random loopback port; `/__bench/*` is the benchmark's own control. */
function serve(handler: Deno.ServeHandler<Deno.NetAddr>): void {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req, info) => {
      // A URL parse per request would be the harness's cost charged to every row: only the
      // control paths are parsed.
      if (!req.url.includes("/__bench/")) {
        served++;
        return await handler(req, info);
      }
      const { pathname, searchParams } = new URL(req.url);
      if (pathname === "/__bench/counters") {
        return Response.json({ requests: served, ...counts } satisfies Counters);
      }
      if (pathname === "/__bench/reset") {
        served = 0;
        Object.assign(counts, zeroCounts());
        return Response.json({ ok: true });
      }
      if (pathname === "/__bench/prepare") {
        const n = Number(searchParams.get("n"));
        const file = searchParams.get("file") ?? "";
        if (!prepareMore || !Number.isInteger(n) || !/^[a-z]+$/.test(file)) {
          return Response.json({ ok: false }, { status: 400 });
        }
        await prepareMore(n, file);
        return Response.json({ ok: true });
      }
      served++;
      return await handler(req, info);
    },
  );
  console.log(JSON.stringify({ port: server.addr.port }));
}

const lines = (items: string[]) => items.join("\n") + "\n";

if (mode === "bare") {
  serve(() => Response.json({ status: "ok" }));
} else if (mode === "kv") {
  let n = 0;
  serve(async () => {
    await kv.set(["bench", n++ % 1000], { at: Date.now() });
    return Response.json({ status: "ok" });
  });
} else {
  // The `request` target only asks for codes: keeping them would only fill memory.
  const doorman = await startDoorman(kv, { captureCodes: mode !== "request" });
  if (mode === "me" || mode === "heartbeat" || mode === "presence" || mode === "presence_private") {
    const users = await inParallel(`${mode}: signing in users`, USERS, doorman.signIn);
    await Deno.writeTextFile(`${dir}/tokens.txt`, lines(users.map((u) => u.access)));
    const ids = users.slice(0, PRESENCE_IDS).map((u) => u.userId);
    await Deno.writeTextFile(`${dir}/ids.txt`, lines(ids));
    await Deno.writeTextFile(`${dir}/all-ids.txt`, lines(users.map((u) => u.userId)));
    if (mode === "presence_private") {
      const contacts = users.slice(PRESENCE_IDS).map((u) => u.userId);
      const hiding = users.slice(0, PRESENCE_IDS).filter((_, i) => i % 2 === 0);
      await inParallel("presence_private: contacts only", hiding.length, async (i) => {
        const headers = {
          authorization: `Bearer ${hiding[i].access}`,
          "content-type": "application/json",
        };
        for (
          const [method, path, body] of [
            ["PUT", "/api/v1/me/presence-contacts", { user_ids: contacts }],
            ["PATCH", "/api/v1/me", { presence_visibility: "contacts" }],
          ] as const
        ) {
          const res = await doorman.call(path, { method, headers, body: JSON.stringify(body) }, i);
          if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}`);
          await res.body?.cancel();
        }
      });
    }
  } else if (mode === "verify") {
    // Each batch gets its own phones: a new request for a phone would kill its earlier code.
    let made = 0;
    prepareMore = async (n, file) => {
      const first = made;
      made += n;
      const pairs = await inParallel(
        `verify: requesting codes (${file})`,
        n,
        (i) => doorman.requestCode(first + i),
      );
      // Newest first. In production a code is used moments after it is asked for, so the
      // instance's bounded copy of its requests (50,000) still holds it; here tens of thousands
      // are made up front, and when they overflow that copy the oldest go first. Used newest
      // first, the ones dropped are those the run may never reach (it is sized with headroom).
      pairs.reverse();
      const text = lines(pairs.map((p) => `${p.requestId} ${p.code}`));
      await Deno.writeTextFile(`${dir}/pairs-${file}.txt`, text);
    };
    await prepareMore(pool, "warmup");
  } else if (mode === "refresh") {
    const users = await inParallel("refresh: signing in", 2 * pool, doorman.signIn);
    const tokens = users.map((u) => u.refresh);
    await Deno.writeTextFile(`${dir}/refresh-warmup.txt`, lines(tokens.slice(0, pool)));
    await Deno.writeTextFile(`${dir}/refresh-measure.txt`, lines(tokens.slice(pool)));
  } else if (mode !== "request") {
    throw new Error(`unknown mode "${mode}"`);
  }
  serve(doorman.fetch);
  doorman.startLogging();
}
