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
  const write = options.write ?? defaultWrite;
  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    const line = options.json
      ? JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })
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

/** A logger that keeps its lines in memory, for tests. */
export function memoryLogger(options: { json?: boolean } = {}): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ json: options.json ?? true, write: (line) => lines.push(line) });
  return Object.assign(logger, { lines });
}

function defaultWrite(line: string, level: LogLevel): void {
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

function formatFields(fields: LogFields): string {
  const parts = Object.entries(fields).map(([key, value]) =>
    `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`
  );
  return parts.length > 0 ? `  ${parts.join(" ")}` : "";
}
