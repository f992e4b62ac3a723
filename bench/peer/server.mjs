/**
 * The peer of `deno task bench`: better-auth's phone-number plugin on Node + SQLite
 * (better-sqlite3), served by `node:http`, set up the way its docs set it up, with the same
 * `/__bench/` control endpoints as bench/server.ts. Usage:
 *
 *   node bench/peer/server.mjs <mode> <dir> [pool]
 *
 * `dir` is a fresh temp directory: the SQLite file lives there, and so do the files the wrk
 * scripts read. Modes:
 * - `request`: nothing to prepare (the wrk script makes up the phones);
 * - `verify`: `pool` code requests for the warm-up, in `pairs-warmup.txt` (`phone code` a
 *   line); the measured run's are made on `POST /__bench/prepare?n=…&file=measure`.
 *
 * Once ready it prints one JSON line on stdout, `{"port": …}`; progress goes to stderr.
 * `GET /__bench/counters` answers the requests served since the last `POST /__bench/reset`
 * (there is no KV to count: better-auth's queries run on this very thread, through Kysely).
 */
import { createServer } from "node:http";
import { writeFile } from "node:fs/promises";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { phoneNumber } from "better-auth/plugins";

/** The bench's phones: `+1415` + 7 digits from 2000000 (bench/doorman.ts does the same). */
const PHONE_BASE = 2_000_000;

const [mode, dir, poolArg] = process.argv.slice(2);
if (!["request", "verify"].includes(mode) || !dir) {
  console.error("usage: node bench/peer/server.mjs <request|verify> <dir> [pool]");
  process.exit(2);
}
const pool = Number(poolArg ?? 0);

// WAL, as better-sqlite3's docs advise for servers. `synchronous` stays better-sqlite3's
// default, NORMAL: a commit is not synced to disk until the next checkpoint, so this peer
// does less I/O than Doorman, whose KV (WAL, FULL) syncs every commit. BENCH_PEER_SYNCHRONOUS
// (e.g. FULL) sets it, to measure the peer at Doorman's durability.
const database = new Database(`${dir}/auth.sqlite`);
database.pragma("journal_mode = WAL");
const synchronous = process.env.BENCH_PEER_SYNCHRONOUS;
if (synchronous) {
  if (!/^(OFF|NORMAL|FULL|EXTRA)$/i.test(synchronous)) {
    console.error(`BENCH_PEER_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not ${synchronous}`);
    process.exit(2);
  }
  database.pragma(`synchronous = ${synchronous}`);
}

/** The code each phone was last sent, kept only while preparing verifications. */
const codes = new Map();
let capture = false;

/** @type {import("better-auth").BetterAuthOptions} */
const options = {
  database,
  secret: "bench-secret-bench-secret-bench-secret",
  baseURL: "http://127.0.0.1",
  telemetry: { enabled: false },
  plugins: [
    phoneNumber({
      // The docs' advice: hand the SMS off, do not wait for it. Here it goes nowhere, as
      // Doorman's bench sends to a sink on another core; only preparation keeps codes.
      sendOTP: ({ phoneNumber, code }) => {
        if (capture) codes.set(phoneNumber, code);
      },
      // Verify signs up the new phone's user and starts a session, as Doorman's verify does.
      signUpOnVerification: {
        getTempEmail: (phone) => `${phone.slice(1)}@bench.invalid`,
        getTempName: (phone) => phone,
      },
    }),
  ],
  // Enforced, as in production, with its limit raised like Doorman's bench (1,000,000 a
  // client IP an hour): every request is counted in the limiter's default store (memory).
  rateLimit: {
    enabled: true,
    window: 3600,
    max: 1_000_000,
    customRules: { "/phone-number/*": { window: 3600, max: 1_000_000 } },
  },
};

const { runMigrations } = await getMigrations(options);
await runMigrations();
const auth = betterAuth(options);
const handler = toNodeHandler(auth);

let served = 0;
let made = 0;

/** Asks for `n` codes for phones never used before; writes `phone code` lines to `file`. */
async function prepare(n, file) {
  capture = true;
  const lines = [];
  try {
    for (let i = 0; i < n; i++) {
      const phone = `+1415${PHONE_BASE + made++}`;
      await auth.api.sendPhoneNumberOTP({ body: { phoneNumber: phone } });
      const code = codes.get(phone);
      if (!code) throw new Error(`no code was sent to ${phone}`);
      codes.delete(phone);
      lines.push(`${phone} ${code}`);
    }
  } finally {
    capture = false;
  }
  await writeFile(`${dir}/pairs-${file}.txt`, lines.join("\n") + "\n");
  console.error(`verify: ${n} codes requested (${file})`);
}

/** Answers a `/__bench/` control request. */
async function control(req, res) {
  const url = new URL(req.url, "http://127.0.0.1");
  const json = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === "/__bench/counters") return json(200, { requests: served });
  if (url.pathname === "/__bench/reset") {
    served = 0;
    return json(200, { ok: true });
  }
  if (url.pathname === "/__bench/prepare") {
    const n = Number(url.searchParams.get("n"));
    const file = url.searchParams.get("file") ?? "";
    if (mode !== "verify" || !Number.isInteger(n) || !/^[a-z]+$/.test(file)) {
      return json(400, { ok: false });
    }
    await prepare(n, file);
    return json(200, { ok: true });
  }
  return json(404, { ok: false });
}

if (mode === "verify") await prepare(pool, "warmup");

const server = createServer((req, res) => {
  if (req.url.startsWith("/__bench/")) {
    control(req, res).catch((error) => {
      console.error(error);
      res.writeHead(500).end();
    });
    return;
  }
  served++;
  // better-auth reads the client's IP only from a header (`x-forwarded-for`), as set by the
  // proxy in front of it in production; here the socket's address stands in for that proxy.
  req.headers["x-forwarded-for"] = req.socket.remoteAddress;
  handler(req, res);
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  database.close();
  process.exit(0);
});
