/**
 * A fake SMTP server on loopback that speaks the protocol a real one does (RFC 5321: EHLO,
 * AUTH PLAIN/LOGIN, MAIL, RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT), records every
 * message, and can be told to refuse a stage with a reply code, go silent or hang up at a stage,
 * or stop listening.
 */

/** One message the server accepted. */
export interface SmtpMessage {
  from: string;
  to: string[];
  /** The raw message as sent after DATA (headers and MIME body). */
  data: string;
  subject: string;
  authenticatedAs: string | null;
}

/** A stage to refuse, with the reply to refuse it with. */
export interface SmtpFailure {
  stage: "greeting" | "auth" | "rcpt" | "data";
  code: number;
  text: string;
}

/**
 * What the server does on every connection until the mode changes (`failNext` still comes
 * first, once):
 * - `reply`: answers `code text` at `stage` (`greeting`: instead of 220, then hangs up, as a
 *   busy server's `421` does; `data`: after the message, instead of 250);
 * - `stall`: at `stage` it says nothing more, until the client hangs up (`greeting`: no
 *   greeting at all; `data`: the whole message is received, then no reply);
 * - `drop`: at `stage` it closes the connection without a reply (`data`: after receiving the
 *   whole message);
 * - `slow`: every reply (greeting included) comes `delayMs` late: never silent for long, but
 *   slow at every step;
 * - `refuse`: nothing listens on the port (connection refused) until the mode changes again.
 * A message received in full and then stalled or dropped is kept in `unanswered`: a real server
 * may deliver it.
 */
export type SmtpMode =
  | { kind: "ok" }
  | ({ kind: "reply" } & SmtpFailure)
  | { kind: "stall"; stage: SmtpFailure["stage"] }
  | { kind: "drop"; stage: SmtpFailure["stage"] }
  | { kind: "slow"; delayMs: number }
  | { kind: "refuse" };

/** A running fake server. */
export interface FakeSmtp extends AsyncDisposable {
  port: number;
  /** `smtp://user:pass@127.0.0.1:port` */
  url: string;
  messages: SmtpMessage[];
  /** Messages received in full that got no reply (stalled or dropped at `data`). */
  unanswered: SmtpMessage[];
  /** Connections accepted. */
  connections: number;
  failNext: SmtpFailure | null;
  mode: SmtpMode;
  /** The code in the newest message to `to`. */
  lastCode(to: string): string | undefined;
}

/** Starts the server; it accepts only `user`/`pass` when they are given. */
export function startFakeSmtp(options: { user?: string; pass?: string } = {}): FakeSmtp {
  let listener: Deno.Listener | null = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const connections = new Set<Deno.Conn>();
  const running = new Set<Promise<void>>();
  let mode: SmtpMode = { kind: "ok" };
  const closeConnections = () => {
    for (const conn of connections) {
      try {
        conn.close();
      } catch {
        // Already closed by the client.
      }
    }
  };
  const fake: FakeSmtp = {
    port,
    url: options.user
      ? `smtp://${encodeURIComponent(options.user)}:${
        encodeURIComponent(options.pass ?? "")
      }@127.0.0.1:${port}`
      : `smtp://127.0.0.1:${port}`,
    messages: [],
    unanswered: [],
    connections: 0,
    failNext: null,
    get mode() {
      return mode;
    },
    set mode(next) {
      mode = next;
      if (next.kind === "refuse") {
        listener?.close();
        listener = null;
        closeConnections();
      } else if (listener === null) {
        listener = Deno.listen({ hostname: "127.0.0.1", port });
        track(accept(listener));
      }
    },
    lastCode(to) {
      // The subject carries the code (`… sign-in code: 493817`), in every language.
      const subject = fake.messages.findLast((m) => m.to.includes(to))?.subject;
      return subject?.match(/(?<!\w)\d{4,10}(?!\w)/)?.[0];
    },
    async [Symbol.asyncDispose]() {
      listener?.close();
      listener = null;
      closeConnections();
      while (running.size > 0) await Promise.all([...running]);
    },
  };
  const take = (stage: SmtpFailure["stage"]): SmtpFailure | null => {
    if (fake.failNext?.stage === stage) {
      const failure = fake.failNext;
      fake.failNext = null;
      return failure;
    }
    return mode.kind === "reply" && mode.stage === stage ? mode : null;
  };
  /** Whether the mode silences or hangs up at `stage`. */
  const breaks = (stage: SmtpFailure["stage"]): "stall" | "drop" | null =>
    (mode.kind === "stall" || mode.kind === "drop") && mode.stage === stage ? mode.kind : null;

  const serve = async (conn: Deno.Conn) => {
    const encoder = new TextEncoder();
    const reply = async (line: string) => {
      const delayMs = mode.kind === "slow" ? mode.delayMs : 0;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return await conn.write(encoder.encode(`${line}\r\n`));
    };
    fake.connections++;
    const input = lines(conn);
    // A silent server: read on until the client gives up.
    const stall = async () => {
      for await (const _ of input);
    };
    const greetingBreak = breaks("greeting");
    if (greetingBreak === "stall") return await stall();
    if (greetingBreak === "drop") return;
    const greetingFailure = take("greeting");
    if (greetingFailure) {
      await reply(`${greetingFailure.code} ${greetingFailure.text}`);
      return;
    }
    await reply("220 fake.smtp.local ESMTP ready");
    let from = "";
    let to: string[] = [];
    let user: string | null = null;
    let state: "command" | "data" | "auth-user" | "auth-pass" = "command";
    let data: string[] = [];
    let pendingUser = "";
    const checkLogin = (name: string, pass: string) => {
      const broken = breaks("auth");
      if (broken) return broken;
      const refused = take("auth");
      if (refused) return `${refused.code} ${refused.text}`;
      if (options.user && (name !== options.user || pass !== options.pass)) {
        return "535 5.7.8 Authentication credentials invalid";
      }
      user = name;
      return "235 2.7.0 Authentication successful";
    };
    /** Answers a login, or stalls or hangs up; false when the session is over. */
    const answerLogin = async (answer: string): Promise<boolean> => {
      if (answer === "stall") await stall();
      if (answer === "stall" || answer === "drop") return false;
      await reply(answer);
      return true;
    };
    for await (const line of input) {
      if (state === "data") {
        if (line === ".") {
          state = "command";
          const text = data.join("\r\n");
          const message = {
            from,
            to,
            data: text,
            subject: text.match(/^Subject: (.*)$/m)?.[1] ?? "",
            authenticatedAs: user,
          };
          const broken = breaks("data");
          if (broken) {
            fake.unanswered.push(message);
            if (broken === "stall") await stall();
            return;
          }
          const failure = take("data");
          if (failure) {
            await reply(`${failure.code} ${failure.text}`);
            continue;
          }
          fake.messages.push(message);
          await reply("250 2.0.0 Ok: queued");
        } else {
          data.push(line.startsWith("..") ? line.slice(1) : line);
        }
        continue;
      }
      if (state === "auth-user") {
        pendingUser = atob(line);
        state = "auth-pass";
        await reply(`334 ${btoa("Password:")}`);
        continue;
      }
      if (state === "auth-pass") {
        state = "command";
        if (!(await answerLogin(checkLogin(pendingUser, atob(line))))) return;
        continue;
      }
      const [verb, ...rest] = line.split(" ");
      const arg = rest.join(" ");
      switch (verb.toUpperCase()) {
        case "EHLO":
          await reply("250-fake.smtp.local");
          await reply("250-AUTH PLAIN LOGIN");
          await reply("250-8BITMIME");
          await reply("250 SIZE 10485760");
          break;
        case "HELO":
          await reply("250 fake.smtp.local");
          break;
        case "AUTH": {
          const [mechanism, initial] = arg.split(" ");
          if (mechanism.toUpperCase() === "PLAIN" && initial) {
            const [, name, pass] = atob(initial).split("\u0000");
            if (!(await answerLogin(checkLogin(name, pass)))) return;
          } else if (mechanism.toUpperCase() === "LOGIN") {
            state = "auth-user";
            await reply(`334 ${btoa("Username:")}`);
          } else {
            await reply("504 5.5.4 Unrecognized authentication type");
          }
          break;
        }
        case "MAIL":
          if (options.user && !user) {
            await reply("530 5.7.0 Authentication required");
            break;
          }
          from = arg.match(/<([^>]*)>/)?.[1] ?? "";
          to = [];
          await reply("250 2.1.0 Ok");
          break;
        case "RCPT": {
          const broken = breaks("rcpt");
          if (broken === "stall") return await stall();
          if (broken === "drop") return;
          const failure = take("rcpt");
          if (failure) {
            await reply(`${failure.code} ${failure.text}`);
            break;
          }
          to.push(arg.match(/<([^>]*)>/)?.[1] ?? "");
          await reply("250 2.1.5 Ok");
          break;
        }
        case "DATA":
          state = "data";
          data = [];
          await reply("354 End data with <CR><LF>.<CR><LF>");
          break;
        case "RSET":
          from = "";
          to = [];
          await reply("250 2.0.0 Ok");
          break;
        case "NOOP":
          await reply("250 2.0.0 Ok");
          break;
        case "QUIT":
          await reply("221 2.0.0 Bye");
          return;
        default:
          await reply("502 5.5.2 Command not recognized");
      }
    }
  };

  function track(task: Promise<void>): void {
    const tracked = task.finally(() => running.delete(tracked));
    running.add(tracked);
  }
  async function accept(from: Deno.Listener): Promise<void> {
    try {
      for await (const conn of from) {
        connections.add(conn);
        track(
          serve(conn).catch(() => {}).finally(() => {
            connections.delete(conn);
            try {
              conn.close();
            } catch {
              // Closed already.
            }
          }),
        );
      }
    } catch {
      // The listener was closed.
    }
  }
  track(accept(listener));
  return fake;
}

/** Lines of a connection, CRLF-terminated as SMTP sends them. */
async function* lines(conn: Deno.Conn): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  const chunk = new Uint8Array(16 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch {
      return;
    }
    if (n === null) return;
    buffer += decoder.decode(chunk.subarray(0, n), { stream: true });
    let at;
    while ((at = buffer.indexOf("\r\n")) >= 0) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
    }
  }
}
