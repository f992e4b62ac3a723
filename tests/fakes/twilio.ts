/**
 * A fake Twilio Messages API on loopback: `POST /2010-04-01/Accounts/{sid}/Messages.json`
 * with HTTP Basic auth and a form body, answering like Twilio does.
 */

/** One message Twilio "sent". */
export interface TwilioMessage {
  to: string;
  from: string;
  body: string;
}

/** A running fake. */
export interface FakeTwilio extends AsyncDisposable {
  apiRoot: string;
  messages: TwilioMessage[];
  /** When set, the next requests fail with this Twilio error. */
  failWith: { status: number; code: number } | null;
}

/** Starts the fake; it accepts only `accountSid` / `authToken`. */
export function startFakeTwilio(accountSid: string, authToken: string): FakeTwilio {
  const fake: FakeTwilio = {
    apiRoot: "",
    messages: [],
    failWith: null,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (
      req.method !== "POST" || url.pathname !== `/2010-04-01/Accounts/${accountSid}/Messages.json`
    ) {
      return Response.json({ code: 20404, message: "not found", status: 404 }, { status: 404 });
    }
    if (req.headers.get("authorization") !== `Basic ${btoa(`${accountSid}:${authToken}`)}`) {
      return Response.json({ code: 20003, message: "Authenticate", status: 401 }, { status: 401 });
    }
    const form = new URLSearchParams(await req.text());
    if (fake.failWith) {
      const { status, code } = fake.failWith;
      return Response.json({ code, message: "refused", status }, { status });
    }
    const message = {
      to: form.get("To") ?? "",
      from: form.get("From") ?? "",
      body: form.get("Body") ?? "",
    };
    fake.messages.push(message);
    return Response.json({ sid: `SM${fake.messages.length}`, status: "queued", ...message }, {
      status: 201,
    });
  });
  fake.apiRoot = `http://127.0.0.1:${server.addr.port}`;
  return fake;
}
