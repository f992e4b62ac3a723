/**
 * The providers' side for `bench/mod.ts`: an HTTP server that takes any POST (an SMS for the
 * `webhook` provider, an outbound event) and answers 200 `{"ok":true}`. It runs in its own
 * process on the load generator's core, because in production Twilio and the event receiver
 * are other machines: what receiving costs is theirs, not Doorman's. Usage:
 *
 *   deno run --allow-net bench/sink.ts
 *
 * Once listening it prints `{"port": …}` on stdout.
 */
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  await req.body?.cancel();
  return Response.json({ ok: true });
});
console.log(JSON.stringify({ port: server.addr.port }));
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
