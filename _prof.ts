Deno.addSignalListener("SIGINT", () => Deno.exit(0));
await import("./bench/server.ts");
