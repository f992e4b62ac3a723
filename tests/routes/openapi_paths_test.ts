import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";

Deno.test("openapi - every /api/v1 route is described, with security where it needs a caller", async () => {
  await using h = await startHarness();
  const doc = await (await h.get("/api/v1/openapi.json")).json();
  const missing: string[] = [];
  const routes = new Set(
    h.app.routes
      // The document itself is the one route it does not describe.
      .filter((r) => r.path.startsWith("/api/v1/") && r.path !== "/api/v1/openapi.json")
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\}+)?/g, "{$1}")}`),
  );
  for (const route of routes) {
    const [method, path] = route.split(" ");
    if (!doc.paths[path]?.[method.toLowerCase()]) missing.push(route);
  }
  assert.deepEqual(missing, []);
  for (const [path, operations] of Object.entries(doc.paths)) {
    if (!path.startsWith("/api/v1/admin/") && !path.startsWith("/api/v1/sessions")) continue;
    for (const [method, operation] of Object.entries(operations as Record<string, unknown>)) {
      const { security } = operation as { security?: unknown[] };
      assert.ok(security && security.length > 0, `${method} ${path} names its security`);
    }
  }
});
