/**
 * Preloaded into a real `main.ts` by tests/operations/unhandled_rejection_test.ts: each
 * SIGUSR2 leaves two promise rejections unhandled, as a forgotten `await` would — an Error, and
 * an object holding a token that must never reach the log.
 */
Deno.addSignalListener("SIGUSR2", () => {
  Promise.reject(new Error("nobody awaited this write"));
  Promise.reject({ token: "tok_never_logged_0123456789" });
});
