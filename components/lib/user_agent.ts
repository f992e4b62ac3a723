/**
 * What a sign-in's `User-Agent` says about its device, in words people use: "Chrome 131 on
 * macOS", "Safari 18 on iPhone", "okhttp 4.12". Enough to tell sign-ins apart, not a full
 * parser: the whole header is always one hover away.
 */

/** Browsers, most specific first: Edge and Opera also say "Chrome", Chrome also "Safari". */
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, "Edge"],
  [/\bOPR\/(\d+)/, "Opera"],
  [/\bSamsungBrowser\/(\d+)/, "Samsung Internet"],
  [/\bYaBrowser\/(\d+)/, "Yandex Browser"],
  [/\bFirefox\/(\d+)/, "Firefox"],
  [/\bFxiOS\/(\d+)/, "Firefox"],
  [/\bCriOS\/(\d+)/, "Chrome"],
  [/\bHeadlessChrome\/(\d+)/, "Headless Chrome"],
  [/\bChrom(?:e|ium)\/(\d+)/, "Chrome"],
  [/\bVersion\/(\d+)(?:\.\d+)*(?: Mobile\/\w+)? Safari\//, "Safari"],
];

/** Systems, most specific first: iPhones say "like Mac OS X", Android says "Linux". */
const SYSTEMS: [RegExp, string][] = [
  [/\biPhone\b/, "iPhone"],
  [/\biPad\b/, "iPad"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

/** A short name for the device behind a `User-Agent` header; "Unknown device" without one. */
export function deviceOf(userAgent: string | null): string {
  const ua = userAgent?.trim() ?? "";
  if (!ua) return "Unknown device";
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  for (const [pattern, name] of BROWSERS) {
    const match = ua.match(pattern);
    if (match) return system ? `${name} ${match[1]} on ${system}` : `${name} ${match[1]}`;
  }
  // Not a browser (an app's HTTP client, curl, a script): its first product and version.
  const product = ua.match(/^([A-Za-z][\w.-]*)\/(\d+(?:\.\d+)?)/);
  if (product?.[1] === "Mozilla" && system) return `A browser on ${system}`;
  if (product && product[1] !== "Mozilla") {
    const name = `${product[1]} ${product[2]}`;
    return system ? `${name} on ${system}` : name;
  }
  return ua.length > 40 ? `${ua.slice(0, 39)}…` : ua;
}
