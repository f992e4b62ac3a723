/** Structured fields of one log line. Never put codes, tokens or secrets here. */
export type LogFields = Record<string, unknown>;

/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Where log lines go; tests pass their own to read what was logged. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger that formats each line and hands it to `write`. */
export function createLogger(
  options: { json: boolean; write?: (line: string, level: LogLevel) => void },
): Logger {
  const write = options.write ?? writeLine;
  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    const line = options.json
      ? jsonLine(level, message, fields)
      : `${level.toUpperCase().padEnd(5)} ${message}${formatFields(fields)}`;
    write(line, level);
  };
  return {
    log,
    debug: (message, fields) => log("debug", message, fields),
    info: (message, fields) => log("info", message, fields),
    warn: (message, fields) => log("warn", message, fields),
    error: (message, fields) => log("error", message, fields),
  };
}

/**
 * `{"time":…,"level":…,"message":…, …fields}` as one JSON line. Written around the fields'
 * own JSON, with the time's text kept for the millisecond it names: a line a request, this was
 * a fiftieth of a presence query as an object spread, a date and a stringify of it all.
 */
function jsonLine(level: LogLevel, message: string, fields: LogFields): string {
  if ("time" in fields || "level" in fields || "message" in fields) {
    return JSON.stringify({ time: isoNow(), level, message, ...fields });
  }
  const rest = JSON.stringify(fields);
  const head = `{"time":"${isoNow()}","level":"${level}","message":${JSON.stringify(message)}`;
  return rest === "{}" ? `${head}}` : `${head},${rest.slice(1)}`;
}

let isoMs = -1;
let isoText = "";

/** The time now as ISO 8601 text, made once a millisecond. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** A logger that keeps its lines in memory, for tests. */
export function memoryLogger(options: { json?: boolean } = {}): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ json: options.json ?? true, write: (line) => lines.push(line) });
  return Object.assign(logger, { lines });
}

/**
 * How a process writes its log: info and debug lines to stdout, gathered and written together
 * at most `FLUSH_MS` later (a `console.log` a line cost a request path 16 µs into a pipe, a
 * tenth of a `/me`; together they cost under 1 µs a line), warnings and errors to stderr at
 * once, after whatever stdout still held, so the line before a crash is never lost. `flushLog`
 * writes what is gathered (main.ts calls it before it exits; an `unload` does too).
 */
export function writeLine(line: string, level: LogLevel): void {
  if (level === "error" || level === "warn") {
    flushLog();
    writeAll(Deno.stderr, encoder.encode(line + "\n"));
    return;
  }
  pending.push(line);
  pendingBytes += line.length + 1;
  if (pendingBytes >= FLUSH_BYTES) flushLog();
  else if (flushTimer === undefined) {
    const timer = setTimeout(flushLog, FLUSH_MS);
    // A log line waiting is no reason to keep a process alive: `unload` writes it.
    Deno.unrefTimer(timer);
    flushTimer = timer;
  }
}

/** Writes the stdout lines gathered so far. */
export function flushLog(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  if (pending.length === 0) return;
  const text = pending.join("\n") + "\n";
  pending = [];
  pendingBytes = 0;
  writeAll(Deno.stdout, encoder.encode(text));
}

const FLUSH_MS = 20;
const FLUSH_BYTES = 32 * 1024;
const encoder = new TextEncoder();
let pending: string[] = [];
let pendingBytes = 0;
let flushTimer: ReturnType<typeof setTimeout> | undefined;
globalThis.addEventListener("unload", flushLog);

function writeAll(out: { writeSync(bytes: Uint8Array): number }, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) {
    try {
      at += out.writeSync(bytes.subarray(at));
    } catch {
      return; // stdout closed (a pipe whose reader went): nothing to log to
    }
  }
}

function formatFields(fields: LogFields): string {
  const parts = Object.entries(fields).map(([key, value]) =>
    `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`
  );
  return parts.length > 0 ? `  ${parts.join(" ")}` : "";
}
