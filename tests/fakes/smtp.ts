/**
 * A fake SMTP server on loopback that speaks the protocol a real one does (RFC 5321: EHLO,
 * AUTH PLAIN/LOGIN, MAIL, RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT), records every
 * message, and can be told to refuse a stage with a reply code.
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

/** A running fake server. */
export interface FakeSmtp extends AsyncDisposable {
  port: number;
  /** `smtp://user:pass@127.0.0.1:port` */
  url: string;
  messages: SmtpMessage[];
  failNext: SmtpFailure | null;
  /** The code in the newest message to `to`. */
  lastCode(to: string): string | undefined;
}

/** Starts the server; it accepts only `user`/`pass` when they are given. */
export function startFakeSmtp(options: { user?: string; pass?: string } = {}): FakeSmtp {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const connections = new Set<Deno.Conn>();
  const fake: FakeSmtp = {
    port,
    url: options.user
      ? `smtp://${encodeURIComponent(options.user)}:${
        encodeURIComponent(options.pass ?? "")
      }@127.0.0.1:${port}`
      : `smtp://127.0.0.1:${port}`,
    messages: [],
    failNext: null,
    lastCode(to) {
      return fake.messages.findLast((m) => m.to.includes(to))?.data.match(/code is (\d+)/)?.[1];
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // Already closed by the client.
        }
      }
      await accepting;
    },
  };
  const take = (stage: SmtpFailure["stage"]): SmtpFailure | null => {
    if (fake.failNext?.stage !== stage) return null;
    const failure = fake.failNext;
    fake.failNext = null;
    return failure;
  };

  const serve = async (conn: Deno.Conn) => {
    const encoder = new TextEncoder();
    const reply = (line: string) => conn.write(encoder.encode(`${line}\r\n`));
    const greetingFailure = take("greeting");
    if (greetingFailure) {
      await reply(`${greetingFailure.code} ${greetingFailure.text}`);
      return;
    }
    await reply("220 fake.smtp.local ESMTP ready");
    let from = "";
    let to: string[] = [];
    let user: string | null = null;
    let mode: "command" | "data" | "auth-user" | "auth-pass" = "command";
    let data: string[] = [];
    let pendingUser = "";
    const checkLogin = (name: string, pass: string) => {
      const refused = take("auth");
      if (refused) return `${refused.code} ${refused.text}`;
      if (options.user && (name !== options.user || pass !== options.pass)) {
        return "535 5.7.8 Authentication credentials invalid";
      }
      user = name;
      return "235 2.7.0 Authentication successful";
    };
    for await (const line of lines(conn)) {
      if (mode === "data") {
        if (line === ".") {
          mode = "command";
          const failure = take("data");
          if (failure) {
            await reply(`${failure.code} ${failure.text}`);
            continue;
          }
          const text = data.join("\r\n");
          fake.messages.push({
            from,
            to,
            data: text,
            subject: text.match(/^Subject: (.*)$/m)?.[1] ?? "",
            authenticatedAs: user,
          });
          await reply("250 2.0.0 Ok: queued");
        } else {
          data.push(line.startsWith("..") ? line.slice(1) : line);
        }
        continue;
      }
      if (mode === "auth-user") {
        pendingUser = atob(line);
        mode = "auth-pass";
        await reply(`334 ${btoa("Password:")}`);
        continue;
      }
      if (mode === "auth-pass") {
        mode = "command";
        await reply(checkLogin(pendingUser, atob(line)));
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
            await reply(checkLogin(name, pass));
          } else if (mechanism.toUpperCase() === "LOGIN") {
            mode = "auth-user";
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
          mode = "data";
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

  const accepting = (async () => {
    const handlers: Promise<void>[] = [];
    try {
      for await (const conn of listener) {
        connections.add(conn);
        handlers.push(
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
    await Promise.all(handlers);
  })();
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
