/**
 * Property-based fuzzing of the HTTP API (README "API in brief", OpenAPI at `/docs`): generated
 * bodies, content types, tokens, query strings and paths against every JSON endpoint mounted
 * today. Whatever comes in, the answer is never a 5xx and never a hang, and every non-2xx answer
 * under `/api/*` and `/telegram/*` is `{ error: { code, message } }` with a code of the error
 * table and the status the table gives it. See arbitraries.ts for reproducing a failure from its
 * seed.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Harness, setUserStatus, type SignInBody } from "../helpers.ts";
import { startTelegramHarness, type TelegramHarness, WEBHOOK_SECRET } from "../telegram/helpers.ts";
import {
  authorization,
  type AuthSpec,
  authSpec,
  bodyOracle,
  claimsOf,
  contentType,
  deepJson,
  encodeComponent,
  errorLines,
  expectContract,
  forgedToken,
  fuzzParams,
  type FuzzRequest,
  type GeneratedBody,
  generatedBody,
  headerValue,
  jsonBodies,
  longString,
  nastyString,
  nearValid,
  pathSegment,
  printTally,
  queryString,
  rawJson,
  rawNumber,
  withTimeout,
} from "./arbitraries.ts";

const ADMIN_PHONE = "+14155550000";

/** The harness every property runs against, with its accounts. */
interface Fuzzing extends AsyncDisposable {
  t: TelegramHarness;
  h: Harness;
  /** Live access tokens by account: `admin`, `user`, `other`, `disabled` (suspended). */
  tokens: Record<string, string>;
  sessions: Record<string, SignInBody>;
  /** Signs a new user in (a new phone each time): for logouts that ended a session. */
  fresh(): Promise<SignInBody>;
}

let phoneCounter = 1000;

/** A harness with Telegram (fake Bot API), an admin, two users and a suspended one. */
async function startFuzzing(env: Record<string, string> = {}): Promise<Fuzzing> {
  // The harness's own sign-ins come from one IP: its hourly cap must not end a long run.
  const t = await startTelegramHarness({
    env: {
      ADMIN_PHONES: ADMIN_PHONE,
      OTP_IP_RATE_LIMIT_PER_HOUR: "1000000",
      SMS_PREFIX_AUTOBLOCK: "false",
      ...env,
    },
  });
  const h = t.h;
  const fresh = () => h.signIn(`+1415555${phoneCounter++}`);
  const sessions: Record<string, SignInBody> = {
    admin: await h.signIn(ADMIN_PHONE),
    user: await fresh(),
    other: await fresh(),
    disabled: await fresh(),
  };
  await setUserStatus(h, sessions.admin.access_token, sessions.disabled.user.id, "suspended");
  const tokens = Object.fromEntries(
    Object.entries(sessions).map(([who, s]) => [who, s.access_token]),
  );
  return {
    t,
    h,
    tokens,
    sessions,
    fresh,
    async [Symbol.asyncDispose]() {
      printTally("answers:");
      await t[Symbol.asyncDispose]();
    },
  };
}

/** Methods, mostly the endpoint's own. */
function method(own: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(own) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    },
  );
}

/** Extra headers a client may send: languages, request ids, origins, cookies, proxies. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.record({
  "accept-language": fc.oneof(fc.constantFrom("de", "pt-BR", "*", "en;q=0", "zz-ZZ"), headerValue),
  "x-request-id": headerValue,
  "x-forwarded-for": fc.oneof(fc.ipV4(), fc.ipV6(), headerValue),
  origin: fc.oneof(
    fc.constantFrom("http://localhost", "http://localhost:8000", "null"),
    headerValue,
  ),
  "sec-fetch-site": fc.constantFrom("same-origin", "cross-site", "none", ""),
  cookie: fc.oneof(
    fc.string({ unit: fc.constantFrom(..."abcXYZ019_-"), minLength: 20, maxLength: 100 })
      .map((v) => `doorman_session=${v}`),
    headerValue,
  ),
}, { requiredKeys: [] });

const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });

/** One generated request to a JSON endpoint. */
interface BodyCase {
  method: string;
  path: string;
  auth: AuthSpec;
  contentType: string | undefined;
  body: GeneratedBody;
  extra: Record<string, string>;
  ip: string;
}

function toRequest(c: BodyCase, tokens: Record<string, string>): FuzzRequest {
  return {
    method: c.method,
    path: c.path,
    headers: {
      ...c.extra,
      "content-type": c.contentType,
      authorization: authorization(c.auth, tokens),
    },
    body: c.body.body,
    ip: c.ip,
  };
}

/** A generated body case for `path` (method `own`) with `fields` (and `valid` bodies). */
function bodyCase(
  own: string,
  path: fc.Arbitrary<string>,
  fields: Record<string, fc.Arbitrary<string>>,
  auth: fc.Arbitrary<AuthSpec>,
  valid?: fc.Arbitrary<unknown>,
): fc.Arbitrary<BodyCase> {
  return fc.record({
    method: method(own),
    path,
    auth,
    contentType,
    body: jsonBodies(fields, valid),
    extra: extraHeaders,
    ip: fc.ipV4(),
  });
}

/** Phones: valid ones in their spellings, and digit strings that may or may not be numbers. */
const phoneValue = fc.oneof(
  fc.constantFrom(
    "+14155550100",
    "+1 (415) 555-0101",
    "+447911123456",
    " +4915112345678 ",
    "+8613800138000",
  ),
  digits(4, 4).map((d) => `+1650555${d}`),
  digits(1, 17).map((d) => `+${d}`),
);
const emailValue = fc.oneof(
  fc.constantFrom("ada@example.com", "ADA+tag@Gmail.com", "a.d.a@googlemail.com", "x@localhost"),
  fc.emailAddress(),
);
const json = (values: fc.Arbitrary<unknown>) => values.map((v) => JSON.stringify(v));

Deno.test("fuzz api - sign-in endpoints take any body, content type and header", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  // Real request ids and codes, so some verifies get as far as comparing codes.
  const issued = [
    await h.requestCode("+14155550111"),
    await h.requestCode("+14155550112"),
    await h.requestCode("+14155550113"),
  ];
  const spare = [await f.fresh(), await f.fresh()];
  const requestIds = fc.oneof(
    fc.constantFrom(...issued.map((i) => i.requestId), "otp_01JD000000000000000000000"),
    nastyString,
  );
  const codes = fc.oneof(
    fc.constantFrom(...issued.map((i) => i.code), "123 456", "12-34-56", "0000"),
    digits(0, 12),
  );
  const refreshTokens = fc.oneof(
    fc.constantFrom(...spare.map((s) => s.refresh_token)),
    fc.base64String({ minLength: 40, maxLength: 48 }),
    nastyString,
  );
  const channels = fc.constantFrom("auto", "sms", "telegram", "email", "AUTO", "pigeon", "");
  const cases = fc.oneof(
    bodyCase(
      "POST",
      fc.constant("/api/v1/auth/otp/request"),
      {
        phone: json(phoneValue),
        email: json(emailValue),
        channel: json(channels),
        locale: json(fc.constantFrom("de", "pt-BR", "xx", "")),
      },
      fc.constant({ kind: "none" as const }),
      fc.oneof(
        fc.record({ phone: phoneValue, channel: fc.constantFrom("auto", "sms", "telegram") }, {
          requiredKeys: ["phone"],
        }),
        fc.record({ email: emailValue, channel: fc.constant("email") }, {
          requiredKeys: ["email"],
        }),
        fc.constant({ channel: "telegram" }),
      ),
    ),
    bodyCase(
      "POST",
      fc.constant("/api/v1/auth/otp/verify"),
      { request_id: json(requestIds), code: json(codes) },
      fc.constant({ kind: "none" as const }),
      fc.record({ request_id: requestIds, code: codes }),
    ),
    bodyCase(
      "POST",
      fc.constant("/api/v1/auth/refresh"),
      { refresh_token: json(refreshTokens) },
      fc.constant({ kind: "none" as const }),
      fc.record({ refresh_token: refreshTokens }),
    ),
  );
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      runs++;
      const req = toRequest(c, f.tokens);
      const allowed = c.method === "POST" ? bodyOracle(c.contentType, c.body.body) : undefined;
      await expectContract(h, req, { allowedCodes: allowed });
    }),
    fuzzParams(500),
  );
  assert.ok(runs >= 500);
});

Deno.test("fuzz api - signed-in endpoints take any token and any body", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  const who = ["user", "other", "disabled", "admin"];
  const auth = authSpec(who);
  const refreshTokens = fc.oneof(
    fc.constant(f.sessions.other.refresh_token),
    fc.base64String({ minLength: 40, maxLength: 48 }),
    nastyString,
  );
  const logoutFields = { refresh_token: json(refreshTokens) };
  const logoutBodies = fc.oneof(fc.constant({}), fc.record({ refresh_token: refreshTokens }));
  const idList = fc.array(
    fc.oneof(
      fc.constantFrom(...Object.values(f.sessions).map((s) => s.user.id)),
      fc.constantFrom("usr_unknown", "", " ", ",", "a".repeat(64), "a".repeat(65)),
      nastyString,
    ),
    { maxLength: 120 },
  ).map((ids) => ids.join(","));
  const cases = fc.oneof(
    bodyCase("POST", fc.constant("/api/v1/auth/logout"), logoutFields, auth, logoutBodies),
    bodyCase("POST", fc.constant("/api/v1/presence/heartbeat"), { status: rawJson }, auth),
    bodyCase("GET", fc.constant("/api/v1/me"), {}, auth),
    bodyCase(
      "GET",
      fc.tuple(idList, fc.nat({ max: 3 })).map(([ids, how]) =>
        `/api/v1/presence?user_ids=${how === 0 ? ids.replace(/[&#]/g, "") : encodeComponent(ids)}`
      ),
      {},
      auth,
    ),
  );
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      runs++;
      const req = toRequest(c, f.tokens);
      // Only these two are signed in again after a logout, so only their tokens are surely live.
      const signedIn = c.auth.kind === "token" && c.auth.how === 0 &&
        (c.auth.who === "user" || c.auth.who === "other");
      const allowed = signedIn && c.method === "POST" && c.path.endsWith("/logout")
        ? bodyOracle(c.contentType, c.body.body, { optional: true })
        : undefined;
      const answer = await expectContract(h, req, { allowedCodes: allowed });
      if (answer.status === 204) {
        // A logout (maybe by a forged token of the same sign-in) ended a session: sign the
        // users whose token stopped working in again for what follows.
        for (const who of ["user", "other"]) {
          const me = await h.get("/api/v1/me", { token: f.tokens[who] });
          await me.body?.cancel();
          if (me.status === 401) {
            f.sessions[who] = await f.fresh();
            f.tokens[who] = f.sessions[who].access_token;
          }
        }
      }
    }),
    fuzzParams(400),
  );
  assert.ok(runs >= 400);
});

Deno.test("fuzz api - account endpoints take any body, content type and header", async () => {
  // Contacts, who sees whom and the export (issue 20): whatever comes, a 4xx of the table or
  // the answer of a valid call, never a 500; the users stay signed in and keep a contact.
  await using f = await startFuzzing();
  const { h } = f;
  const auth = authSpec(["user", "other", "disabled", "admin"]);
  const ids = fc.oneof(
    fc.constantFrom(...Object.values(f.sessions).map((s) => s.user.id)),
    fc.constantFrom("usr_01JD0000000000000000000000", "usr_", "fam_01JD0000000000000000000000"),
    nastyString,
  );
  const statuses = new Map<string, number>();
  const cases = fc.oneof(
    bodyCase(
      "PATCH",
      fc.constant("/api/v1/me"),
      { presence_visibility: json(fc.constantFrom("everyone", "contacts", "nobody", "all", "")) },
      auth,
      fc.record({ presence_visibility: fc.constantFrom("everyone", "contacts", "nobody") }),
    ),
    bodyCase(
      "PUT",
      fc.constant("/api/v1/me/presence-contacts"),
      { user_ids: json(fc.array(ids, { maxLength: 30 })) },
      auth,
      fc.record({ user_ids: fc.array(ids, { maxLength: 5 }) }),
    ),
    bodyCase(
      "POST",
      fc.constant("/api/v1/me/contact/request"),
      { phone: json(phoneValue), email: json(emailValue), channel: json(fc.string()) },
      auth,
      fc.oneof(fc.record({ phone: phoneValue }), fc.record({ email: emailValue })),
    ),
    bodyCase(
      "POST",
      fc.constant("/api/v1/me/contact/verify"),
      { request_id: json(nastyString), code: json(digits(0, 12)) },
      auth,
    ),
    bodyCase(
      "DELETE",
      fc.oneof(fc.constantFrom("email", "telegram", "fax"), pathSegment).map((kind) =>
        `/api/v1/me/contact/${kind}`
      ),
      {},
      auth,
    ),
    bodyCase("GET", fc.constantFrom("/api/v1/me/export", "/api/v1/me/presence-contacts"), {}, auth),
    bodyCase("POST", fc.constant("/api/v1/me/telegram/link"), {}, auth),
  ).filter((c) => !(c.method === "DELETE" && c.path === "/api/v1/me")); // erasure: its own tests
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      const answer = await expectContract(h, toRequest(c, f.tokens));
      const seen = `${answer.status}`;
      statuses.set(seen, (statuses.get(seen) ?? 0) + 1);
    }),
    fuzzParams(300),
  );
  // The calls reached the handlers too, not only the doors in front of them.
  assert.ok((statuses.get("200") ?? 0) + (statuses.get("202") ?? 0) > 0, [...statuses].join());
  assert.ok((statuses.get("400") ?? 0) > 0, [...statuses].join());
  for (const who of ["user", "other"]) {
    const me = await h.get("/api/v1/me", { token: f.tokens[who] });
    assert.equal(me.status, 200);
    const { user } = await me.json();
    assert.ok(user.phone || user.email || user.telegram_id, `${who} keeps a way to sign in`);
  }
});

Deno.test("fuzz api - tokens signed with the real key but claims of any shape", async () => {
  // Only the key's holder can mint these; still, whatever they claim, the answer is a 401 or
  // 403 (or the caller's own answer when the claims still name a live sign-in), never a 500.
  await using f = await startFuzzing();
  const { h } = f;
  const cases = fc.record({
    token: fc.oneof(forgedToken(f.tokens.user), forgedToken(f.tokens.admin)),
    endpoint: fc.constantFrom(
      ["GET", "/api/v1/me"],
      ["POST", "/api/v1/presence/heartbeat"],
      ["GET", `/api/v1/presence?user_ids=${f.sessions.other.user.id}`],
      ["GET", "/api/v1/admin/stats"],
      ["GET", "/api/v1/admin/users?limit=1"],
      ["PUT", "/api/v1/admin/settings"],
    ),
  });
  await fc.assert(
    fc.asyncProperty(cases, async ({ token, endpoint: [method, path] }) => {
      try {
        await expectContract(h, {
          method,
          path,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: method === "PUT" ? "{}" : undefined,
        }, { allowedCodes: ["UNAUTHORIZED", "FORBIDDEN", "ACCOUNT_DISABLED"] });
      } catch (error) {
        throw new Error(`${(error as Error).message}\n  token: ${claimsOf(token)}`);
      }
    }),
    fuzzParams(300),
  );
});

/** The settings and their ranges (README, "Configuration"; `PUT /api/v1/admin/settings`). */
const SETTING_LIMITS: Record<string, [number, number]> = {
  otp_length: [4, 10],
  otp_ttl_seconds: [2, 600],
  otp_max_attempts: [1, 10],
  otp_resend_cooldown_seconds: [0, 600],
  otp_rate_limit_per_hour: [1, 1000],
  otp_ip_rate_limit_per_hour: [1, 1_000_000],
  telegram_autodelete_seconds: [5, 60],
  presence_timeout_seconds: [2, 3600],
  heartbeat_interval_seconds: [1, 600],
  presence_offline_grace_seconds: [0, 60],
};

const settingNames = Object.keys(SETTING_LIMITS);

Deno.test("fuzz api - admin endpoints take any token, body and target", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  const victims = [await f.fresh(), await f.fresh()];
  // The admin never targets itself (a self-ban would end the run's admin token early).
  const target = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(...victims.map((v) => v.user.id)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "usr_unknown",
        "usr_01JD000000000000000000000",
        "a".repeat(64),
        "a".repeat(65),
      ),
    },
    { weight: 2, arbitrary: pathSegment },
  );
  const auth = authSpec(["admin", "admin", "admin", "user", "disabled"]);
  const settingFields = Object.fromEntries(
    settingNames.map((
      name,
    ) => [name, fc.oneof(rawNumber, fc.integer({ min: -1, max: 3_601 }).map(String))]),
  );
  // Values in range, or one step out of it.
  const validSettings = fc.record(
    Object.fromEntries(
      settingNames.map((name) => {
        const [min, max] = SETTING_LIMITS[name];
        return [name, fc.oneof(fc.integer({ min, max }), fc.constantFrom(min - 1, max + 1))];
      }),
    ),
    { requiredKeys: [] },
  );
  const cases = fc.oneof(
    bodyCase(
      "PATCH",
      target.map((id) => `/api/v1/admin/users/${id}`),
      {
        status: json(
          fc.constantFrom("active", "inactive", "suspended", "banned", "ACTIVE", "deleted"),
        ),
        role: json(fc.constantFrom("user", "admin", "root", "")),
      },
      auth,
      fc.record({
        status: fc.constantFrom("active", "inactive", "suspended", "banned"),
        role: fc.constantFrom("user", "admin"),
      }, { requiredKeys: [] }),
    ),
    bodyCase("PUT", fc.constant("/api/v1/admin/settings"), settingFields, auth, validSettings),
    bodyCase("GET", fc.constant("/api/v1/admin/settings"), {}, auth),
    bodyCase("GET", fc.constant("/api/v1/admin/stats"), {}, auth),
    bodyCase("GET", fc.constantFrom("/api/v1/admin/users", "/api/v1/admin/events"), {}, auth),
  );
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      runs++;
      const req = toRequest(c, f.tokens);
      const admin = c.auth.kind === "token" && c.auth.how === 0 && c.auth.who === "admin";
      const writes = (c.method === "PUT" && c.path.endsWith("/settings")) ||
        (c.method === "PATCH" && /^\/api\/v1\/admin\/users\/[A-Za-z0-9_-]{1,64}$/.test(c.path));
      const allowed = admin && writes ? bodyOracle(c.contentType, c.body.body) : undefined;
      await expectContract(h, req, { allowedCodes: allowed });
    }),
    fuzzParams(500),
  );
  assert.ok(runs >= 500);
});

/** A Telegram update: real shapes with generated values, or anything. */
function telegramUpdate(): fc.Arbitrary<string> {
  const id = fc.oneof(
    fc.integer({ min: 1, max: 2 ** 40 }),
    fc.constantFrom(0, -1, 5_000_000_001, 2 ** 53, 1.5),
  );
  const text = fc.oneof(
    nastyString,
    nastyString.map((s) => `/start ${s}`),
    fc.constantFrom("/start", "/start ", "/help", "/stop", "/start@doorman_test_bot abc"),
  );
  const person = fc.record({ id, is_bot: fc.boolean(), first_name: nastyString }, {
    requiredKeys: ["id"],
  });
  const message = fc.record({
    message_id: id,
    date: fc.oneof(fc.integer(), fc.constant(Math.floor(Date.now() / 1000))),
    chat: fc.record({ id, type: fc.constantFrom("private", "group", "channel", "weird") }, {
      requiredKeys: [],
    }),
    from: person,
    text,
    entities: fc.array(
      fc.record({
        type: fc.constantFrom("bot_command", "mention", "url"),
        offset: fc.integer({ min: -2, max: 50 }),
        length: fc.integer({ min: -2, max: 50 }),
      }),
      { maxLength: 3 },
    ),
    contact: fc.record({ phone_number: nastyString, first_name: nastyString, user_id: id }, {
      requiredKeys: [],
    }),
  }, { requiredKeys: [] });
  const known = fc.record({
    update_id: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(-1, 1.5, 2 ** 53)),
    message,
    edited_message: message,
    callback_query: fc.record({ id: nastyString, from: person, data: nastyString }),
    my_chat_member: fc.jsonValue({ maxDepth: 2 }),
  }, { requiredKeys: [] }).map((u) => JSON.stringify(u));
  return fc.oneof(
    { weight: 4, arbitrary: known },
    {
      weight: 2,
      arbitrary: nearValid({
        update_id: fc.oneof(rawNumber, fc.nat().map(String)),
        message: fc.oneof(rawJson, message.map((m) => JSON.stringify(m))),
      }),
    },
    {
      weight: 1,
      arbitrary: deepJson.map((d) => `{"update_id":1,"message":${d.startsWith("{") ? d : "{}"}}`),
    },
  );
}

/** One request of the webhook property. */
interface WebhookCase {
  method: string;
  secret: string | undefined;
  contentType: string | undefined;
  body: GeneratedBody;
  ip: string;
}

Deno.test("fuzz api - the Telegram webhook takes any update and any secret", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  const secret = fc.oneof(
    { weight: 6, arbitrary: fc.constant(WEBHOOK_SECRET) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(undefined, "", `${WEBHOOK_SECRET}x`, WEBHOOK_SECRET.toUpperCase()),
    },
    { weight: 1, arbitrary: headerValue },
  );
  const body: fc.Arbitrary<GeneratedBody> = fc.oneof(
    { weight: 3, arbitrary: telegramUpdate().map((body) => generatedBody("near", body)) },
    { weight: 2, arbitrary: jsonBodies({ update_id: rawNumber, message: rawJson }) },
  );
  const cases: fc.Arbitrary<WebhookCase> = fc.record({
    method: method("POST"),
    secret,
    contentType,
    body,
    ip: fc.ipV4(),
  });
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      runs++;
      const before = h.log.lines.length;
      const req: FuzzRequest = {
        method: c.method,
        path: "/telegram/webhook",
        headers: { "content-type": c.contentType, "x-telegram-bot-api-secret-token": c.secret },
        body: c.body.body,
        ip: c.ip,
      };
      const allowed = c.method === "POST" && c.secret === WEBHOOK_SECRET
        ? bodyOracle(c.contentType, c.body.body, { maxBytes: 256 * 1024 })
        : undefined;
      await expectContract(h, req, { allowedCodes: allowed });
      // Updates are processed in the background: that must finish too, without a crash.
      await withTimeout(h.ctx.telegram!.idle(), 5_000, "the update's processing");
      const crashed = errorLines(h, before).filter((line) =>
        /TypeError|RangeError|ReferenceError|SyntaxError|Maximum call stack/.test(line)
      );
      if (crashed.length > 0) {
        throw new Error(`processing the update crashed:\n  ${crashed.join("\n  ")}`);
      }
    }),
    fuzzParams<WebhookCase>(300, [[{
      // A contact without phone_number, shared by its own user (the bot read it as a string).
      method: "POST",
      secret: WEBHOOK_SECRET,
      contentType: "application/json",
      body: generatedBody(
        "near",
        JSON.stringify({
          update_id: 1,
          message: {
            message_id: 1,
            date: 0,
            chat: { id: 5, type: "private" },
            from: { id: 5, is_bot: false, first_name: "A" },
            contact: { first_name: "A", user_id: 5 },
          },
        }),
      ),
      ip: "192.0.2.1",
    }]]),
  );
  assert.ok(runs >= 300);
});

/** Values for the admin list's `limit`, from fine to absurd. */
const limitValue = fc.oneof(
  fc.constantFrom(
    "1",
    "50",
    "200",
    "0",
    "201",
    "-1",
    "1e2",
    "0x10",
    "Infinity",
    "NaN",
    " 5",
    "5.5",
    "",
    "١٢",
    "1_0",
  ),
  rawNumber,
  nastyString,
);

/** Values for `q`: phones, emails, ids, and the rest. */
const searchValue = fc.oneof(
  fc.constantFrom(
    "+1",
    "+1415",
    "+14155550000",
    "+1 (415)",
    "ada@",
    "usr_",
    "usr_01JD000000000000000000000",
    "%",
    "*",
    "\\",
  ),
  nastyString,
  longString,
);

Deno.test("fuzz api - query strings of the presence and admin lists", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  const ids = Object.values(f.sessions).map((s) => s.user.id);
  const userIds = fc.array(
    fc.oneof(fc.constantFrom(...ids, "usr_unknown", "", " "), nastyString),
    { maxLength: 110 },
  ).map((xs) => xs.join(","));
  const presence = fc.record({
    path: queryString({ user_ids: userIds, user_id: userIds }).map((q) => `/api/v1/presence?${q}`),
    who: fc.constantFrom("user", "admin"),
  });
  const admin = fc.record({
    path: queryString({
      status: fc.oneof(
        fc.constantFrom("online", "offline", "all", "ONLINE", "active", ""),
        nastyString,
      ),
      q: searchValue,
      limit: limitValue,
    }).map((q) => `/api/v1/admin/users?${q}`),
    who: fc.constant("admin"),
  });
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(presence, admin), async (c) => {
      runs++;
      await expectContract(h, {
        method: "GET",
        path: c.path,
        headers: { authorization: `Bearer ${f.tokens[c.who]}` },
      });
    }),
    fuzzParams(400, [
      [{ path: "/api/v1/presence?user_ids=", who: "user" }],
      [{ path: "/api/v1/admin/users?limit=0x10&status=online", who: "admin" }],
      [{ path: "/api/v1/admin/users?q=%ED%A0%80", who: "admin" }],
    ]),
  );
  assert.ok(runs >= 400);
});

Deno.test("fuzz api - the admin list's cursor, real, altered or made up", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  for (let i = 0; i < 5; i++) await f.fresh();
  const page = await h.get("/api/v1/admin/users?limit=2", { token: f.tokens.admin });
  const real = (await page.json()).cursor as string;
  assert.equal(typeof real, "string", "a first page of 2 out of 9 users has a cursor");
  const cursor = fc.oneof(
    { weight: 1, arbitrary: fc.constant(real) },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 }), fc.nat({ max: 3 }))
        .map(([at, s, how]) => {
          const i = at % real.length;
          if (how === 0) return real.slice(0, i);
          if (how === 1) return real + s;
          if (how === 2) return real.slice(0, i) + s + real.slice(i + 1);
          return real.split("").reverse().join("");
        }),
    },
    { weight: 2, arbitrary: nastyString },
    { weight: 2, arbitrary: fc.base64String({ maxLength: 64 }) },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 48 }).map((b) =>
        btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replaceAll(
          "=",
          "",
        )
      ),
    },
  );
  const cases = fc.record({
    cursor,
    status: fc.constantFrom("all", "online", "offline"),
    limit: fc.constantFrom("1", "2", "50"),
  });
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      await expectContract(h, {
        method: "GET",
        path: `/api/v1/admin/users?status=${c.status}&limit=${c.limit}&cursor=${
          encodeComponent(c.cursor)
        }`,
        headers: { authorization: `Bearer ${f.tokens.admin}` },
      });
    }),
    fuzzParams(300, [
      // Known: unvalidated cursors were a 500 (fixed for "garbage"; a non-Latin-1 one still is).
      [{ cursor: "garbage", status: "all", limit: "50" }],
      [{ cursor: "garbage", status: "online", limit: "50" }],
      [{ cursor: "Ā", status: "all", limit: "1" }],
    ]),
  );
});

/** Where generated paths start. */
const pathRoot = fc.constantFrom(
  "/",
  "/api/",
  "/api/v1/",
  "/api/v1/auth/",
  "/api/v1/admin/",
  "/api/v1/admin/users/",
  "/api/v1/presence/",
  "/static/",
  "/static/build/",
  "/admin/",
  "/admin/login/",
  "/telegram/",
);

/** One request of the path property. */
interface PathCase {
  method: string;
  path: string;
  who: string;
  contentType: string | undefined;
  body: string | undefined;
  sameOrigin: boolean;
}

Deno.test("fuzz api - random paths, methods and escapes never give a 5xx", async () => {
  await using f = await startFuzzing();
  const { h } = f;
  const cases: fc.Arbitrary<PathCase> = fc.record({
    method: fc.oneof(
      { weight: 5, arbitrary: fc.constant("GET") },
      {
        weight: 3,
        arbitrary: fc.constantFrom("POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
      },
    ),
    path: fc.tuple(
      pathRoot,
      fc.array(pathSegment, { maxLength: 4 }),
      fc.constantFrom("", "/", "//", "?", "?v=1", "?next=%", "?next=/admin/users", "#x"),
    ).map(([root, segments, tail]) => root + segments.join("/") + tail),
    who: fc.constantFrom("none", "user", "admin"),
    // Multipart bodies are the dashboard forms' property (below).
    contentType: fc.constantFrom(
      undefined,
      "application/json",
      "application/x-www-form-urlencoded",
      "text/plain",
    ),
    body: fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        "{}",
        '{"status":"active"}',
        "recipient=%2B14155550100",
        "recipient=%",
        "code=12%34",
      ),
      fc.string({ maxLength: 100 }),
    ),
    sameOrigin: fc.boolean(),
  });
  const examples: [PathCase][] = [
    "/static/%",
    "/static/%E0%A4%A",
    "/static/admin.css",
    "/static/..%2F..%2Fdeno.json",
    "/api/v1/presence/ws",
    "/admin/login?next=%",
  ].map((path) => [{
    method: "GET",
    path,
    who: "none",
    contentType: undefined,
    body: undefined,
    sameOrigin: false,
  }]);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      runs++;
      const headers: Record<string, string | undefined> = {
        "content-type": c.contentType,
        authorization: c.who === "none" ? undefined : `Bearer ${f.tokens[c.who]}`,
        ...(c.sameOrigin ? { origin: "http://localhost", "sec-fetch-site": "same-origin" } : {}),
      };
      // Paths the URL parser would refuse are not requests a client can send.
      let url: URL;
      try {
        url = new URL(`http://localhost${c.path}`);
      } catch {
        return;
      }
      const answer = await expectContract(h, {
        method: c.method,
        path: url.pathname + url.search,
        headers,
        body: c.body,
      });
      // What the static route serves stays inside static/.
      if (answer.status === 200 && url.pathname.startsWith("/static/")) {
        assert.ok(!/"imports"|JWT_SECRET|deno\.land/.test(answer.text), `served ${url.pathname}`);
      }
    }),
    fuzzParams(500, examples),
  );
  assert.ok(runs >= 500);
});

/** Form fields of the dashboard's sign-in, as text. */
const formValue = fc.oneof(
  fc.constantFrom(
    "+14155550100",
    "ada@example.com",
    "123456",
    "otp_01JD000000000000000000000",
    "sms",
  ),
  nastyString,
);

/** A multipart body: well formed around generated fields, or broken in one of the usual ways. */
const multipartBody = fc.tuple(
  fc.array(
    fc.tuple(
      fc.constantFrom("recipient", "code", "request_id", "sent_to", "channel", "x"),
      formValue,
    ),
    {
      maxLength: 4,
    },
  ),
  fc.constantFrom("boundary", "b", "----WebKitFormBoundary7MA4YWxkTrZu0gW"),
  fc.nat({ max: 5 }),
).map(([fields, boundary, how]) => {
  const parts = fields.map(([name, value]) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  ).join("");
  const whole = `${parts}--${boundary}--\r\n`;
  if (how === 0) return whole.slice(0, Math.max(0, whole.length - 7));
  if (how === 1) return whole.replaceAll("\r\n", "\n");
  if (how === 2) return parts;
  if (how === 3) return whole.replace("Content-Disposition", "Content-Type");
  return whole;
});

/** One request of the dashboard forms property. */
interface FormCase {
  path: string;
  contentType: string | undefined;
  body: string;
  sameOrigin: boolean;
  cookie: string | undefined;
}

Deno.test("fuzz api - dashboard forms take any body and content type", async () => {
  // HTML pages may answer 3xx or 4xx HTML as they like; never a 5xx, never a hang.
  await using f = await startFuzzing();
  const { h } = f;
  const cases: fc.Arbitrary<FormCase> = fc.record({
    path: fc.constantFrom(
      "/admin/login",
      "/admin/login/verify",
      "/admin/login/verify?next=%2Fadmin%2Fusers",
      "/admin/login/verify?next=%",
      "/admin/logout",
    ),
    contentType: fc.oneof(
      fc.constantFrom(
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=boundary",
        "multipart/form-data; boundary=b",
        "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/mixed; boundary=b",
        "application/json",
        "text/plain",
        undefined,
      ),
      headerValue,
    ),
    body: fc.oneof(
      fc.array(fc.tuple(fc.constantFrom("recipient", "code", "request_id", "sent_to"), formValue), {
        maxLength: 4,
      }).map((pairs) => pairs.map(([k, v]) => `${k}=${encodeComponent(v)}`).join("&")),
      fc.constantFrom("recipient=%", "recipient=%E0%A4%A", "code=%ZZ&request_id=%00", "=&=&"),
      multipartBody,
      fc.string({ maxLength: 200 }),
    ),
    sameOrigin: fc.constantFrom(true, true, true, false),
    cookie: fc.option(
      fc.string({ unit: fc.constantFrom(..."abcXYZ019_-"), minLength: 20, maxLength: 100 }),
      { nil: undefined },
    ),
  });
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      await expectContract(h, {
        method: "POST",
        path: c.path,
        headers: {
          "content-type": c.contentType,
          cookie: c.cookie === undefined ? undefined : `doorman_session=${c.cookie}`,
          ...(c.sameOrigin ? { origin: "http://localhost", "sec-fetch-site": "same-origin" } : {}),
        },
        body: c.body,
        ip: "198.51.100.7",
      });
    }),
    fuzzParams<FormCase>(300, [[{
      path: "/admin/login",
      contentType: "multipart/form-data; boundary=boundary",
      body: "recipient=+14155550100",
      sameOrigin: true,
      cookie: undefined,
    }]]),
  );
});
