/**
 * A fake KV Connect server on loopback: what `Deno.openKv("http://…")` talks to, as the
 * self-hosted denokv server speaks it (the metadata exchange in JSON, then snapshot reads and
 * atomic writes in protobuf; the protocol is denokv's proto/kv-connect.md). Keys and values
 * stay the bytes the client encoded: the store orders keys bytewise, as denokv's SQLite does,
 * and never needs to decode them. It refuses what denokv refuses — a wrong token, more than
 * 10 checks or 1,000 mutations in one write, queues — with the same 4xx answers, so a test
 * against it fails where a real denokv would. `watch` is not served (Doorman does not use it).
 */

/** A running fake, its URL and what it saw. */
export interface KvConnectServer extends AsyncDisposable {
  /** The URL to give `Deno.openKv` (with `DENO_KV_ACCESS_TOKEN` set to `token`). */
  url: string;
  token: string;
  /** Metadata exchanges answered 200, and refused for a wrong token. */
  exchanges: number;
  refusedTokens: number;
  /** Atomic writes refused for going past denokv's limits (answered 400). */
  refusedWrites: string[];
  /** Snapshot reads and atomic writes served. */
  reads: number;
  writes: number;
  close(): Promise<void>;
}

/** denokv's limits (proto/limits.rs). */
const MAX_CHECKS = 10;
const MAX_MUTATIONS = 1000;
const MAX_READ_RANGES = 10;
const DATABASE_ID = "00000000-0000-0000-0000-000000000000";

const VE_LE64 = 2;
const enum MutationType {
  Set = 1,
  Delete = 2,
  Sum = 3,
  Max = 4,
  Min = 5,
}

interface Stored {
  value: Uint8Array;
  encoding: number;
  versionstamp: Uint8Array;
  /** Ms since the epoch; 0 for never. */
  expireAt: number;
}

/** Starts a fake KV Connect server that accepts `token`, on `port` (default: any free one). */
export function startKvConnect(options: { token?: string; port?: number } = {}): KvConnectServer {
  const token = options.token ?? "kv-connect-test-token-0123456789";
  const store = new Map<string, Stored>();
  let version = 0n;

  const live = (key: string): Stored | undefined => {
    const entry = store.get(key);
    if (entry && entry.expireAt !== 0 && entry.expireAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };

  const authorized = (request: Request) =>
    request.headers.get("authorization") === `Bearer ${token}`;

  const exchange = async (request: Request): Promise<Response> => {
    if (!authorized(request)) {
      server.refusedTokens++;
      return text(401, "Invalid access token.");
    }
    const body = await request.json().catch(() => null) as { supportedVersions?: number[] } | null;
    const versions = body?.supportedVersions ?? [1];
    const chosen = versions.includes(3) ? 3 : versions.includes(2) ? 2 : 0;
    if (!chosen) return text(400, "The server requires protocol version 2 or 3.");
    server.exchanges++;
    return Response.json({
      version: chosen,
      databaseId: DATABASE_ID,
      endpoints: [{ url: "/v2", consistency: "strong" }],
      token,
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
  };

  const snapshotRead = (body: Uint8Array): Response => {
    const ranges = fieldsOf(body).filter((f) => f.field === 1).map((f) => fieldsOf(f.bytes!));
    if (ranges.length > MAX_READ_RANGES) {
      return text(400, "Too many read ranges requested in one read request.");
    }
    server.reads++;
    const keys = [...store.keys()].sort();
    const out = new Writer();
    for (const range of ranges) {
      const start = hexOf(bytesField(range, 1));
      const end = hexOf(bytesField(range, 2));
      const limit = Number(numberField(range, 3));
      const reverse = numberField(range, 4) === 1n;
      const inRange = keys.filter((key) => key >= start && key < end);
      if (reverse) inRange.reverse();
      const entries = new Writer();
      let n = 0;
      for (const key of inRange) {
        if (n >= limit) break;
        const entry = live(key);
        if (!entry) continue;
        n++;
        entries.message(
          1,
          new Writer().bytes(1, bytesOf(key)).bytes(2, entry.value).varint(3, entry.encoding)
            .bytes(4, entry.versionstamp),
        );
      }
      out.message(1, entries);
    }
    // read_is_strongly_consistent, status SR_SUCCESS.
    out.varint(4, 1).varint(8, 1);
    return protobuf(out);
  };

  const atomicWrite = (body: Uint8Array): Response => {
    const fields = fieldsOf(body);
    const checks = fields.filter((f) => f.field === 1).map((f) => fieldsOf(f.bytes!));
    const mutations = fields.filter((f) => f.field === 2).map((f) => fieldsOf(f.bytes!));
    const enqueues = fields.filter((f) => f.field === 3);
    if (checks.length > MAX_CHECKS) {
      return refuseWrite(`Too many checks included in atomic write. (${checks.length})`);
    }
    if (mutations.length + enqueues.length > MAX_MUTATIONS) {
      return refuseWrite("Too many mutations / enqueues included in atomic write.");
    }
    if (enqueues.length > 0) return refuseWrite("Queues are not served here.");
    server.writes++;
    for (const check of checks) {
      const stamp = live(hexOf(bytesField(check, 1)))?.versionstamp ?? new Uint8Array();
      if (hexOf(stamp) !== hexOf(bytesField(check, 2))) {
        return protobuf(new Writer().varint(1, 2)); // AW_CHECK_FAILURE
      }
    }
    version++;
    const versionstamp = new Uint8Array(10);
    new DataView(versionstamp.buffer).setBigUint64(0, version);
    for (const mutation of mutations) {
      const key = hexOf(bytesField(mutation, 1));
      const value = fieldsOf(bytesField(mutation, 2));
      const data = bytesField(value, 1);
      const encoding = Number(numberField(value, 2));
      const expireAt = Number(numberField(mutation, 4));
      switch (Number(numberField(mutation, 3))) {
        case MutationType.Set:
          store.set(key, { value: data, encoding, versionstamp, expireAt });
          break;
        case MutationType.Delete:
          store.delete(key);
          break;
        case MutationType.Sum:
        case MutationType.Max:
        case MutationType.Min: {
          const type = Number(numberField(mutation, 3));
          const current = live(key);
          if (current && current.encoding !== VE_LE64) {
            return refuseWrite("Failed to perform a sum, min or max on a non-U64 value.");
          }
          const n = le64(data);
          const was = current ? le64(current.value) : null;
          const next = was === null
            ? n
            : type === MutationType.Sum
            ? (was + n) & 0xffff_ffff_ffff_ffffn
            : type === MutationType.Max
            ? (was > n ? was : n)
            : (was < n ? was : n);
          store.set(key, { value: toLe64(next), encoding: VE_LE64, versionstamp, expireAt });
          break;
        }
        default:
          return refuseWrite("Invalid mutation kind or arguments.");
      }
    }
    return protobuf(new Writer().varint(1, 1).bytes(2, versionstamp)); // AW_SUCCESS
  };

  const refuseWrite = (message: string): Response => {
    server.refusedWrites.push(message);
    return text(400, message);
  };

  const http = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== "POST") return text(405, "Method not allowed.");
      if (path === "/") return await exchange(request);
      if (!authorized(request)) return text(401, "Invalid access token.");
      if (request.headers.get("x-denokv-database-id") !== DATABASE_ID) {
        return text(400, "Invalid database id.");
      }
      const body = new Uint8Array(await request.arrayBuffer());
      if (path === "/v2/snapshot_read") return snapshotRead(body);
      if (path === "/v2/atomic_write") return atomicWrite(body);
      return text(404, "Resource not found.");
    },
  );

  const server: KvConnectServer = {
    url: `http://127.0.0.1:${http.addr.port}`,
    token,
    exchanges: 0,
    refusedTokens: 0,
    refusedWrites: [],
    reads: 0,
    writes: 0,
    close: () => http.shutdown(),
    [Symbol.asyncDispose]: () => http.shutdown(),
  };
  return server;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain" } });
}

function protobuf(writer: Writer): Response {
  return new Response(writer.finish(), { headers: { "content-type": "application/x-protobuf" } });
}

/** Keys as hex, so that string order is the bytewise order denokv sorts keys in. */
function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesOf(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)?.map((pair) => parseInt(pair, 16)) ?? []);
}

function le64(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

function toLe64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

// --- the little of protobuf's wire format these messages use ---

interface Field {
  field: number;
  /** Varints (wire type 0). */
  number?: bigint;
  /** Length-delimited (wire type 2): bytes, strings and embedded messages. */
  bytes?: Uint8Array;
}

function fieldsOf(buffer: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n;; shift += 7n) {
      const byte = buffer[at++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
  };
  while (at < buffer.length) {
    const tag = Number(varint());
    const field = tag >> 3;
    switch (tag & 7) {
      case 0:
        fields.push({ field, number: varint() });
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = Number(varint());
        fields.push({ field, bytes: buffer.subarray(at, at + length) });
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        throw new Error(`Cannot read protobuf: wire type ${tag & 7}`);
    }
  }
  return fields;
}

function bytesField(fields: Field[], field: number): Uint8Array {
  return fields.find((f) => f.field === field)?.bytes ?? new Uint8Array();
}

/** A varint field; int64 values come as their two's complement (negative is never sent). */
function numberField(fields: Field[], field: number): bigint {
  return fields.find((f) => f.field === field)?.number ?? 0n;
}

class Writer {
  readonly #parts: number[] = [];

  #varint(n: bigint | number): void {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.#parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#parts.push(Number(v));
  }

  varint(field: number, n: bigint | number): this {
    this.#varint(field << 3);
    this.#varint(n);
    return this;
  }

  bytes(field: number, bytes: Uint8Array): this {
    this.#varint((field << 3) | 2);
    this.#varint(bytes.length);
    for (const byte of bytes) this.#parts.push(byte);
    return this;
  }

  message(field: number, message: Writer): this {
    return this.bytes(field, message.finish());
  }

  finish(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.#parts);
  }
}
