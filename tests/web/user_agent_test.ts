import assert from "node:assert/strict";
import { deviceOf } from "../../components/lib/user_agent.ts";

Deno.test("deviceOf() - browsers by name, major version and system", () => {
  const cases: [string, string][] = [
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      "Chrome 131 on macOS",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
      "Edge 131 on Windows",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
      "Safari 18 on iPhone",
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
      "Safari 18 on macOS",
    ],
    [
      "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
      "Firefox 133 on Linux",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.104 Mobile Safari/537.36",
      "Chrome 131 on Android",
    ],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
      "Headless Chrome 131 on Linux",
    ],
    [
      "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
      "Chrome 131 on iPad",
    ],
  ];
  for (const [ua, device] of cases) assert.equal(deviceOf(ua), device, ua);
});

Deno.test("deviceOf() - apps and tools by their product; nothing or nonsense stays readable", () => {
  assert.equal(deviceOf("okhttp/4.12.0"), "okhttp 4.12");
  assert.equal(deviceOf("curl/8.5.0"), "curl 8.5");
  assert.equal(
    deviceOf("Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP2A)"),
    "Dalvik 2.1 on Android",
  );
  assert.equal(deviceOf("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"), "A browser on Windows");
  assert.equal(deviceOf(null), "Unknown device");
  assert.equal(deviceOf("   "), "Unknown device");
  assert.equal(deviceOf("my-script"), "my-script");
  assert.equal(deviceOf("x".repeat(100)).length, 40);
});
