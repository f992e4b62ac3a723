/**
 * Shared pieces of the fuzz tests: the error table (README, "Errors"), generators of hostile
 * inputs (JSON text that `JSON.stringify` never writes, near-valid bodies, query strings, path
 * segments, headers, forged tokens) and the contract check every HTTP answer goes through.
 *
 * Reproduce a failure with the seed (and path) fast-check prints:
 * `FUZZ_SEED=<seed> deno test --allow-all tests/fuzz/`. `FUZZ_RUNS_SCALE=10` runs ten times more cases.
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { type Harness, TEST_SECRET } from "../helpers.ts";

// ---------------------------------------------------------------------------------------------
// The contract

/** README, "Errors": every code a client may see, with the status the table gives it. */
export const ERROR_TABLE: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_CODE: 400,
  UNAUTHORIZED: 401,
  ACCOUNT_DISABLED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RECIPIENT_NOT_ALLOWED: 403,
  RATE_LIMITED: 429,
  TOO_MANY_ATTEMPTS: 429,
  CHANNEL_UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** How long one request (answer and body) may take before it counts as a hang. */
export const REQUEST_TIMEOUT_MS = 5_000;

/**
 * fast-check parameters for a property of one arbitrary: `numRuns` scaled by `FUZZ_RUNS_SCALE`,
 * the seed (and path) from `FUZZ_SEED` (`FUZZ_PATH`), and `examples` run first every time.
 */
export function fuzzParams<T>(numRuns: number, examples: [T][] = []): fc.Parameters<[T]> {
  const scale = Number(env("FUZZ_RUNS_SCALE") ?? "1");
  const seed = env("FUZZ_SEED");
  const path = env("FUZZ_PATH");
  return {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    examples,
    // A failure that times out (a hang) would take hours to shrink, 5 s a try: shrinking stops
    // after 30 s with the smallest counterexample so far, and so does a run gone slow.
    interruptAfterTimeLimit: 30_000 * (Number.isFinite(scale) && scale > 1 ? scale : 1),
    markInterruptAsFailure: true,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(path !== undefined ? { path } : {}),
  };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Strings

/** Strings that broke parsers, validators, key encoders or logs somewhere before. */
export const NASTY_STRINGS = [
  "",
  " ",
  "\t\n\r",
  "\u0000",
  "\u0000abc",
  "null",
  "undefined",
  "true",
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "-0",
  "0x10",
  "1e309",
  "-1",
  "[]",
  "{}",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "../../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "%",
  "%00",
  "%E0%A4%A",
  "%ED%A0%80",
  "\ud800",
  "\udfff\ud800",
  "\u202e\u0644\u0627",
  "\ufeff",
  "\u2028\u2029",
  "😀".repeat(40),
  "👩‍👩‍👧‍👦",
  "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
  "<script>alert(1)</script>",
  "' OR '1'='1' --",
  "${jndi:ldap://x}",
  "{{7*7}}",
  "+14155550100",
  "+1 (415) 555-0100",
  "+0",
  "+",
  "+999999999999999999999",
  "ada@example.com",
  "ADA+tag@Gmail.com",
  "a@b",
  "@",
  "otp_01JD000000000000000000000",
  "usr_01JD000000000000000000000",
  "fam_01JD000000000000000000000",
  "123456",
  "12 34 56",
  "٠١٢٣٤٥",
  "１２３４５６",
];

/** A few kinds of long strings: ASCII, astral, and right at common limits. */
export const longString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(64, 65, 254, 255, 320, 321, 512, 513, 1024, 1025, 4096, 4097, 6500, 6501)
    .map((n) => "x".repeat(n)),
  fc.integer({ min: 100, max: 20_000 }).map((n) => "a".repeat(n)),
  fc.integer({ min: 10, max: 3_000 }).map((n) => "😀".repeat(n)),
  fc.integer({ min: 10, max: 3_000 }).map((n) => "é\u0301".repeat(n)),
);

/** Any string a client could send: nasty constants, every unicode unit, long ones. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  // UTF-16 units one at a time: lone surrogates included.
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 12,
    }),
  },
  { weight: 1, arbitrary: longString },
);

// ---------------------------------------------------------------------------------------------
// JSON as text (what a client puts on the wire, including what JSON.stringify never writes)

/** Number literals: ordinary, out of every range, negative zero, beyond double precision. */
export const rawNumber: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.integer({ min: -20, max: 4_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom(
    "0",
    "-0",
    "-0.0",
    "0e0",
    "0.5",
    "4.0",
    "1E1",
    "1e2",
    "1e999",
    "-1e999",
    "1e-999",
    "9007199254740991",
    "9007199254740993",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "2147483648",
    "4294967296",
    "5.9999999999999999",
    "6.000000000000001",
  ),
);

/** String literals, with escapes JSON.stringify would never produce. */
export const rawString: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: nastyString.map((s) => JSON.stringify(s)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '"\\ud800"',
      '"\\udc00\\ud800"',
      '"\\u0000"',
      '"\\u202e"',
      '"\\/\\b\\f"',
      '"\\u0041\\u0064\\u0061"',
    ),
  },
);

/** Object keys: the ones endpoints know, prototype keys, nasty strings. */
export function rawKey(known: readonly string[] = []): fc.Arbitrary<string> {
  const keys = [...known, "__proto__", "constructor", "prototype", "type", "id", ""];
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...keys) },
    { weight: 1, arbitrary: nastyString },
  ).map((k) => JSON.stringify(k));
}

/** Any JSON value as text: nested arrays and objects of the literals above. */
export const rawJson: fc.Arbitrary<string> =
  fc.letrec<{ value: string; array: string; object: string }>(
    (tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        rawNumber,
        rawString,
        fc.constantFrom("true", "false", "null"),
        tie("array"),
        tie("object"),
      ),
      array: fc.array(tie("value"), { maxLength: 5 }).map((xs) => `[${xs.join(",")}]`),
      object: fc.array(fc.tuple(rawKey(), tie("value")), { maxLength: 5 })
        .map((entries) => `{${entries.map(([k, v]) => `${k}:${v}`).join(",")}}`),
    }),
  ).value;

/** Deep nesting, balanced (valid JSON) or not, around 2 to 15 KB. */
export const deepJson: fc.Arbitrary<string> = fc.tuple(
  fc.integer({ min: 500, max: 5_000 }),
  fc.constantFrom("array", "object", "unbalanced"),
  fc.constantFrom(...["phone", "refresh_token", "status", "update_id", "otp_length"]),
).map(([depth, kind, key]) => {
  if (kind === "array") return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
  if (kind === "object") {
    return `{"${key}":${'{"a":'.repeat(depth / 4 | 0)}1${"}".repeat((depth / 4 | 0) + 1)}`;
  }
  return "[".repeat(depth);
});

/**
 * Near-valid objects: some of the endpoint's keys with valid values, some with values of the
 * wrong type, sometimes an extra key, a repeated key or a prototype key, in any order.
 */
export function nearValid(fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(fields);
  const extra = fc.tuple(rawKey(names), rawJson);
  const entry = names.length === 0 ? extra : fc.constantFrom(...names).chain((name) =>
    fc.oneof(
      { weight: 3, arbitrary: fields[name] },
      { weight: 2, arbitrary: rawJson },
      {
        weight: 1,
        arbitrary: fc.constantFrom("null", "[]", "{}", '""', "0", "-0", "1e999", "true"),
      },
    ).map((value) => [JSON.stringify(name), value] as const)
  );
  return fc.tuple(
    fc.array(entry, { maxLength: names.length + 1 }),
    fc.option(extra, { freq: 4, nil: null }),
    fc.constantFrom("", " ", "\n\t", "\u00a0"),
  ).map(([entries, more, space]) => {
    const all = more ? [...entries, more] : entries;
    return `${space}{${all.map(([k, v]) => `${k}:${space}${v}`).join(",")}}${space}`;
  });
}

/** Text that is not JSON at all, or JSON spoilt by one of the usual mistakes. */
export const invalidJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "{",
    "}",
    "[",
    "nul",
    "tru",
    "NaN",
    "Infinity",
    "-",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
    "'x'",
    "{'phone': '+14155550100'}",
    '{"phone": "+14155550100",}',
    '{"phone" "+14155550100"}',
    '{"phone": +14155550100}',
    '{"a":1}{"b":2}',
    '{"a":1} x',
    '{"phone": "\\x41"}',
    '{"phone": "\u0001"}',
    "\ufeff{}",
    "/* comment */ {}",
    "{} // comment",
    "undefined",
    "\u0000",
    "phone=%2B14155550100",
    '--boundary\r\nContent-Disposition: form-data; name="phone"\r\n\r\n+1\r\n--boundary--',
  ),
  // A valid document cut short, or with one character replaced.
  fc.tuple(rawJson, fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(
    ([text, at, char]) => {
      const cut = at % Math.max(1, text.length);
      return text.length > 1 && at % 2 === 0
        ? text.slice(0, cut)
        : text.slice(0, cut) + char + text.slice(cut + 1);
    },
  ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
);

/** Any JS value as JSON text (undefined becomes no body at all). */
export const anythingAsJson: fc.Arbitrary<string> = fc.anything({
  maxDepth: 4,
  withBoxedValues: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withDate: true,
  withMap: true,
  withSet: true,
}).map((value) => {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return "";
  }
});

/** Bodies sized right at the 16 KiB limit (one byte under, at, over), valid JSON otherwise. */
export const boundaryBody: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom(16_383, 16_384, 16_385, 20_000, 262_144, 262_145),
  fc.constantFrom("phone", "email", "refresh_token", "pad", "update_id"),
).map(([size, key]) => {
  const head = `{"${key}":"`;
  const tail = `"}`;
  return head + "x".repeat(Math.max(0, size - head.length - tail.length)) + tail;
});

/** A request body as bytes: random bytes, invalid UTF-8, UTF-16 with a BOM. */
export const binaryBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(
    new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
    new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  ),
);

/** A generated body and how it was made (some oracles depend on it). */
export interface GeneratedBody {
  kind: "valid" | "near" | "anything" | "json" | "invalid" | "deep" | "boundary" | "bytes" | "none";
  body?: string | Uint8Array;
}

/**
 * Bodies for a JSON endpoint whose fields (with valid literal values) are `fields`; `valid`
 * gives whole valid bodies, so that the deeper paths behind validation get their share.
 */
export function jsonBodies(
  fields: Record<string, fc.Arbitrary<string>>,
  valid?: fc.Arbitrary<unknown>,
): fc.Arbitrary<GeneratedBody> {
  const of = (kind: GeneratedBody["kind"]) => (body: string | Uint8Array) =>
    generatedBody(kind, body);
  return fc.oneof(
    ...(valid
      ? [{ weight: 8, arbitrary: valid.map((v) => JSON.stringify(v)).map(of("valid")) }]
      : []),
    { weight: 8, arbitrary: nearValid(fields).map(of("near")) },
    { weight: 2, arbitrary: anythingAsJson.map(of("anything")) },
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)).map(of("json")),
    },
    { weight: 1, arbitrary: rawJson.map(of("json")) },
    { weight: 3, arbitrary: invalidJson.map(of("invalid")) },
    { weight: 1, arbitrary: deepJson.map(of("deep")) },
    { weight: 1, arbitrary: boundaryBody.map(of("boundary")) },
    { weight: 1, arbitrary: binaryBody.map(of("bytes")) },
    { weight: 1, arbitrary: fc.constant(generatedBody("none", undefined)) },
  );
}

/** A body that prints short in counterexamples (the seed and path reproduce it whole). */
export function generatedBody(
  kind: GeneratedBody["kind"],
  body: string | Uint8Array | undefined,
): GeneratedBody {
  return {
    kind,
    body,
    [fc.toStringMethod]: () => `{ kind: "${kind}", body: ${printBody(body)} }`,
  } as GeneratedBody;
}

function printBody(body: string | Uint8Array | undefined): string {
  if (body === undefined) return "undefined";
  if (typeof body !== "string") {
    return `Uint8Array[${[...body.slice(0, 40)].join(",")}${body.length > 40 ? ",…" : ""}]`;
  }
  return body.length > 300
    ? `${JSON.stringify(body.slice(0, 300))} + … (${body.length} chars in all)`
    : JSON.stringify(body);
}

/** Content types that are JSON by any reading (RFC 9110: case-insensitive, parameters allowed). */
export const CLEARLY_JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/json;charset=latin1",
  "application/json; charset=utf-16",
  "application/vnd.api+json",
  "application/merge-patch+json",
  "application/json;",
  "application/json ; x=y",
];

/** Content types that are not JSON by any reading (none at all included). */
export const CLEARLY_NOT_JSON_TYPES = [
  undefined,
  "",
  "text/plain",
  "text/json",
  "application/jsonp",
  "application/json-seq",
  "application/x-json",
  "json",
  "application/xml",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=boundary",
  "*/*",
  "application/",
  ";",
];

/** The body as the server reads it: UTF-8, invalid sequences replaced, a leading BOM dropped. */
export function bodyText(body: string | Uint8Array | undefined): string {
  if (body === undefined) return "";
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return new TextDecoder().decode(bytes);
}

/** Bytes on the wire. */
export function byteLength(body: string | Uint8Array | undefined): number {
  if (body === undefined) return 0;
  return typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
}

/**
 * What the README ("API in brief", "Errors") leaves a JSON endpoint free to answer, judged from
 * the body alone once the caller is let in: over the limit 413; a body without a JSON content type
 * 415; JSON content type but not JSON, or JSON that is not an object, 400 `VALIDATION_FAILED`.
 * `undefined` when the body is a JSON object (then the schema decides) or the content type is
 * neither clearly JSON nor clearly not.
 */
export function bodyOracle(
  contentType: string | undefined,
  body: string | Uint8Array | undefined,
  options: { maxBytes?: number; optional?: boolean } = {},
): readonly string[] | undefined {
  if (byteLength(body) > (options.maxBytes ?? 16 * 1024)) return ["PAYLOAD_TOO_LARGE"];
  const text = bodyText(body);
  if (options.optional && text.trim() === "") return undefined;
  if (CLEARLY_NOT_JSON_TYPES.includes(contentType)) return ["UNSUPPORTED_MEDIA_TYPE"];
  if (!CLEARLY_JSON_TYPES.includes(contentType!)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return ["VALIDATION_FAILED"];
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return ["VALIDATION_FAILED"];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Headers, queries, paths

/** A header value that `Headers` accepts: visible ASCII and Latin-1, no CR/LF/NUL. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0xa0, max: 0xff }),
    ).map((c) => String.fromCharCode(c)),
    maxLength: 60,
  }),
  fc.integer({ min: 1_000, max: 9_000 }).map((n) => "h".repeat(n)),
);

/** Content-Type values: JSON in its spellings, other types, nonsense, or none at all. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CLEARLY_JSON_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom(...CLEARLY_NOT_JSON_TYPES) },
  { weight: 1, arbitrary: headerValue },
);

/** Percent-encodes like a browser would, keeping lone surrogates (as U+FFFD) instead of throwing. */
export function encodeComponent(s: string): string {
  return encodeURIComponent(s.toWellFormed());
}

/** How a query value goes on the wire: encoded, raw, with `+`, or with a broken escape. */
function onTheWire(value: string, how: number): string {
  switch (how) {
    case 0:
      return encodeComponent(value);
    case 1:
      return encodeComponent(value).replaceAll("%20", "+");
    case 2:
      // Raw, minus what would end the pair, the query or the URL.
      return value.toWellFormed().replace(/[&#=\s]/g, "");
    default:
      return `${encodeComponent(value)}${
        ["%", "%E0%A4%A", "%ZZ", "%ED%A0%80", "%00", "%C0%AF"][how % 6]
      }`;
  }
}

/**
 * A query string over `params`: each maybe present, maybe repeated, maybe empty, plus unknown
 * keys, keys without `=` and empty pairs. Values come as the caller's generator gives them.
 */
export function queryString(params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const pair = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(...names).chain((name) =>
        fc.tuple(fc.constant(name), params[name], fc.nat({ max: 8 }))
      ).map(([name, value, how]) => `${name}=${onTheWire(value, how)}`),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(nastyString, nastyString, fc.nat({ max: 8 }))
        .map(([k, v, how]) => `${onTheWire(k, how) || "k"}=${onTheWire(v, how)}`),
    },
    { weight: 1, arbitrary: fc.constantFrom(...names, "", "=", "&", "==", "%", "a[b]=c") },
  );
  return fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join("&"));
}

/** One path segment: words routes know, ids, nasty strings, dot segments, percent escapes. */
export const pathSegment: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "v1",
      "v2",
      "api",
      "auth",
      "otp",
      "request",
      "verify",
      "refresh",
      "logout",
      "me",
      "sessions",
      "presence",
      "heartbeat",
      "ws",
      "admin",
      "users",
      "settings",
      "stats",
      "audit",
      "fraud",
      "deliveries",
      "webhooks",
      "telegram",
      "webhook",
      "health",
      "login",
      "openapi.json",
      "admin.css",
      "build",
      "islands.test.js",
      "manifest.json",
      "favicon.ico",
      "usr_01JD000000000000000000000",
      ".",
      "..",
      "%2e%2e",
      "%2E",
      ".env",
      "",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "%",
      "%%",
      "%E0%A4%A",
      "%E0%A4",
      "%C0%AF",
      "%ED%A0%80",
      "%FF",
      "%00",
      "%2F",
      "%5C",
      "%ZZ",
      "%u0041",
      "%25",
      "a%",
      "%a",
      "x.css%00",
      "admin.css%3F",
      "..%2F..%2Fdeno.json",
      "%2e%2e%2f%2e%2e%2fdeno.json",
    ),
  },
  { weight: 2, arbitrary: nastyString.map((s) => encodeComponent(s)) },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 12 }).map((s) => s.replace(/[/?#\\\t\n\r]/g, "")),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ maxLength: 6 }), fc.nat({ max: 255 }))
      .map(([s, b]) => `${encodeComponent(s)}%${b.toString(16).padStart(2, "0")}`),
  },
);

// ---------------------------------------------------------------------------------------------
// Tokens

/** What a token says, for failure messages: its header and claims, decoded. */
export function claimsOf(token: string): string {
  const [header, payload] = token.split(".").map((part) => {
    try {
      return Buffer.from(part, "base64url").toString();
    } catch {
      return part;
    }
  });
  const text = `header ${header} claims ${payload}`;
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} chars)` : text;
}

/** Base64url of JSON (or of raw text). */
function b64url(value: unknown, raw = false): string {
  return Buffer.from(raw ? String(value) : JSON.stringify(value)).toString("base64url");
}

/** Signs `header.payload` with the harness's JWT secret, as the server does. */
function signed(header: unknown, payload: unknown, rawPayload = false): string {
  const input = `${b64url(header)}.${b64url(payload, rawPayload)}`;
  return `${input}.${createHmac("sha256", TEST_SECRET).update(input).digest("base64url")}`;
}

/**
 * Access tokens with a genuine signature (the harness's secret) over claims of any shape: the
 * claims of a real token with some replaced by generated JSON, wrong headers, non-object
 * payloads. Whatever they carry, the answer must be a 401 or 403, never a 500.
 */
export function forgedToken(genuine: string): fc.Arbitrary<string> {
  const claims = JSON.parse(Buffer.from(genuine.split(".")[1], "base64url").toString());
  const claimValue = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    nastyString,
    fc.constantFrom(0, -1, 1e300, -1e300, 2 ** 53, null, [], {}, [claims.sub], { id: claims.sub }),
  );
  const claimName = fc.constantFrom(
    "sub",
    "sid",
    "jti",
    "role",
    "exp",
    "iat",
    "nbf",
    "iss",
    "aud",
    "token_use",
    "typ",
  );
  const header = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ alg: "HS256", typ: "at+jwt" }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        { alg: "HS256" },
        { alg: "HS256", typ: "JWT" },
        { alg: "none", typ: "at+jwt" },
        { alg: "HS512", typ: "at+jwt" },
        { alg: "HS256", typ: "at+jwt", crit: ["exp"] },
        { alg: "HS256", typ: "at+jwt", b64: false, crit: ["b64"] },
        [],
        null,
        "HS256",
      ),
    },
  );
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.tuple(header, fc.dictionary(claimName, claimValue, { maxKeys: 3 }))
        .map(([h, changes]) => signed(h, { ...claims, ...changes })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(header, fc.oneof(fc.jsonValue({ maxDepth: 2 }), nastyString))
        .map(([h, payload]) => signed(h, payload, typeof payload === "string")),
    },
  );
}

/**
 * How a request authenticates, as a printable description: none, a live token of one of the
 * harness's accounts (`who`) sent one of a dozen ways (`how`: exact, lower-case scheme, cut,
 * doubled, wrong scheme, oversized, …), or a literal header value (forged tokens, junk).
 * `authorization()` turns it into the header with the tokens live at the time of the request.
 */
export type AuthSpec =
  | { kind: "none" }
  | { kind: "token"; who: string; how: number; junk: string }
  | { kind: "raw"; value: string };

/** Auth descriptions over the accounts `who`, plus literal values from `raw`. */
export function authSpec(
  who: readonly string[],
  raw?: fc.Arbitrary<string>,
): fc.Arbitrary<AuthSpec> {
  const token = fc.record({
    kind: fc.constant("token" as const),
    who: fc.constantFrom(...who),
    how: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, {
      weight: 2,
      arbitrary: fc.nat({ max: 12 }),
    }),
    junk: headerValue,
  });
  const literal = fc.oneof(
    headerValue,
    ...(raw ? [raw.map((t) => `Bearer ${t}`)] : []),
  ).map((value) => ({ kind: "raw" as const, value }));
  return fc.oneof(
    { weight: 6, arbitrary: token },
    { weight: raw ? 3 : 1, arbitrary: literal },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  );
}

/** The Authorization header an `AuthSpec` stands for, given the live tokens. */
export function authorization(spec: AuthSpec, tokens: Record<string, string>): string | undefined {
  if (spec.kind === "none") return undefined;
  if (spec.kind === "raw") return spec.value;
  const t = tokens[spec.who];
  switch (spec.how) {
    case 0:
      return `Bearer ${t}`;
    case 1:
      return `bearer ${t}`;
    case 2:
      return `Bearer   ${t}   `;
    case 3:
      return `Bearer ${t}x`;
    case 4:
      return `Bearer ${t.slice(0, -2)}`;
    case 5:
      return `Bearer ${t}.${t}`;
    case 6:
      return `Basic ${t}`;
    case 7:
      return `Bearer ${t},Bearer ${t}`;
    case 8:
      return `Bearer ${t.split(".").slice(0, 2).join(".")}.`;
    case 9:
      return `Bearer ${t}${"a".repeat(4_097 - t.length)}`;
    case 10:
      return "Bearer";
    case 11:
      return `Bearer ${spec.junk}`;
    default:
      return spec.junk;
  }
}

// ---------------------------------------------------------------------------------------------
// Sending and checking

/** One generated HTTP request. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers?: Record<string, string | undefined>;
  body?: string | Uint8Array;
  ip?: string;
}

/** What came back, with the error lines the server logged while answering. */
export interface FuzzAnswer {
  status: number;
  headers: Headers;
  text: string;
  logged: string[];
}

/** Rejects after `ms` with a message naming `what`; the timer never outlives the race. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short, printable account of a request for failure messages. */
export function describe(req: FuzzRequest): string {
  const headers = Object.fromEntries(
    Object.entries(req.headers ?? {}).filter(([, v]) => v !== undefined).map((
      [k, v],
    ) => [k, clip(v!, 120)]),
  );
  const body = req.body === undefined
    ? "(none)"
    : typeof req.body === "string"
    ? `${JSON.stringify(clip(req.body, 300))} (${req.body.length} chars)`
    : `bytes[${[...req.body.slice(0, 40)].join(",")}${req.body.length > 40 ? ",…" : ""}]`;
  return `${req.method} ${clip(req.path, 300)} headers=${JSON.stringify(headers)} body=${body}`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Sends `req` to the harness's app in-process (as `h.post`/`h.get` do), bounded in time. */
export async function exchange(h: Harness, req: FuzzRequest): Promise<FuzzAnswer> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (value !== undefined) headers.set(name, value);
  }
  const before = h.log.lines.length;
  const answer = withTimeout(
    (async () => {
      const res = await h.app.request(`http://localhost${req.path}`, {
        method: req.method,
        headers,
        body: req.body === undefined || req.method === "GET" || req.method === "HEAD"
          ? undefined
          : req.body as BodyInit,
      }, { remoteAddr: { transport: "tcp", hostname: req.ip ?? "203.0.113.7", port: 50000 } });
      if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
        // A live stream (the admin event feed) never ends: its headers are the answer.
        await res.body?.cancel();
        return { status: res.status, headers: res.headers, text: "" };
      }
      return { status: res.status, headers: res.headers, text: await res.text() };
    })(),
    REQUEST_TIMEOUT_MS,
    describe(req),
  );
  const { status, headers: answered, text } = await answer;
  return { status, headers: answered, text, logged: errorLines(h, before) };
}

/** Log lines at error level written since line `from`. */
export function errorLines(h: Harness, from: number): string[] {
  return h.log.lines.slice(from).filter((line) => /"level":"error"/.test(line)).map((line) =>
    clip(line, 1_500)
  );
}

/** Why an answer breaks the contract, or null when it keeps it. */
export function contractProblem(
  req: FuzzRequest,
  answer: FuzzAnswer,
  options: { jsonErrors?: boolean } = {},
): string | null {
  const { status, headers, text } = answer;
  const path = new URL(`http://localhost${req.path}`).pathname;
  const jsonErrors = options.jsonErrors ??
    (path.startsWith("/api/") || path.startsWith("/telegram/"));
  if (status >= 500) return `answered ${status}`;
  if (status < 400 && !(jsonErrors && status >= 300)) return null;
  const type = headers.get("content-type") ?? "";
  if (!jsonErrors && !/json/i.test(type)) return null;
  if (req.method === "HEAD") return null;
  if (!/^application\/json/i.test(type)) return `a ${status} with content-type "${type}", not JSON`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `a ${status} whose body is not JSON`;
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (typeof error !== "object" || error === null) return `a ${status} without an "error" object`;
  const code = error.code;
  if (typeof code !== "string" || !(code in ERROR_TABLE)) {
    return `error code ${JSON.stringify(code)} is not in the table`;
  }
  if (ERROR_TABLE[code] !== status) {
    return `error code ${code} came with ${status}; the table says ${ERROR_TABLE[code]}`;
  }
  if (typeof error.message !== "string" || error.message.length === 0) {
    return "error.message is not a non-empty string";
  }
  if (code === "VALIDATION_FAILED") {
    const details = error.details;
    if (
      !Array.isArray(details) || details.length === 0 ||
      !details.every((d) => typeof d?.path === "string" && typeof d?.message === "string")
    ) return `VALIDATION_FAILED without { path, message } details: ${JSON.stringify(details)}`;
  }
  if (code === "RATE_LIMITED") {
    const after = error.retry_after;
    if (!Number.isInteger(after) || (after as number) < 1) {
      return `RATE_LIMITED with retry_after ${JSON.stringify(after)}`;
    }
    if (headers.get("retry-after") !== String(after)) {
      return `RATE_LIMITED with Retry-After ${headers.get("retry-after")} and retry_after ${after}`;
    }
  }
  return null;
}

/** Answers seen per request line and status; printed at the end of a test with `FUZZ_STATS=1`. */
const tally = new Map<string, number>();

/** Prints (with `FUZZ_STATS=1`) and clears what `expectContract` saw. */
export function printTally(title: string): void {
  if (env("FUZZ_STATS")) {
    const rows = [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${n}\t${k}`);
    console.log(`${title}\n${rows.join("\n")}`);
  }
  tally.clear();
}

/** Sends `req` and throws, with everything needed to reproduce it, if the answer breaks the contract. */
export async function expectContract(
  h: Harness,
  req: FuzzRequest,
  options: { jsonErrors?: boolean; allowedCodes?: readonly string[] } = {},
): Promise<FuzzAnswer> {
  const answer = await exchange(h, req);
  if (env("FUZZ_STATS")) {
    const line = `${req.method} ${req.path.replace(/\?.*/, "").slice(0, 40)} ${answer.status} ${
      safeCode(answer.text) ?? ""
    }`;
    tally.set(line, (tally.get(line) ?? 0) + 1);
  }
  let problem = contractProblem(req, answer, options);
  if (!problem && options.allowedCodes && answer.status >= 400) {
    const code = safeCode(answer.text);
    if (!options.allowedCodes.includes(code ?? "")) {
      problem = `answered ${code} (${answer.status}); expected one of ${
        options.allowedCodes.join(", ")
      }`;
    }
  }
  if (problem) throw new Error(failureReport(req, answer, problem));
  return answer;
}

/** The error code of an error body, if it has one. */
export function safeCode(text: string): string | undefined {
  try {
    const code = JSON.parse(text)?.error?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Everything about a failed exchange: the request, the answer, what the server logged. */
export function failureReport(req: FuzzRequest, answer: FuzzAnswer, problem: string): string {
  return [
    `contract broken: ${problem}`,
    `  request: ${describe(req)}`,
    `  answer:  ${answer.status} ${clip(answer.text, 500)}`,
    ...(answer.logged.length > 0 ? [`  server log:`, ...answer.logged.map((l) => `    ${l}`)] : []),
  ].join("\n");
}
