/**
 * The Bot API's HTML parse mode, as strict as Telegram: only its tags, only its entities.
 * A message that would not parse gets Telegram's own 400.
 */

/** An error the fake answers instead of running a method, in the Bot API error shape. */
export interface InjectedFailure {
  error_code: number;
  description: string;
  retry_after?: number;
}

/** Shown as `error_code` / `description` to the client, like Telegram's own refusals. */
export class BotApiError extends Error {
  constructor(readonly failure: InjectedFailure) {
    super(failure.description);
  }
}

/** A 400 "Bad Request: …", worded as Telegram words it. */
export function badRequest(reason: string): BotApiError {
  return new BotApiError({ error_code: 400, description: `Bad Request: ${reason}` });
}

/** The text a reader would see for `parse_mode`, or Telegram's 400 when it would not parse. */
export function visibleText(text: string, parseMode: unknown): string {
  if (parseMode === undefined || parseMode === "") return text;
  const mode = String(parseMode).toLowerCase();
  if (mode === "html") return parseTelegramHtml(text);
  // Markdown is passed through unchecked: Doorman sends HTML.
  if (mode === "markdown" || mode === "markdownv2") return text;
  throw badRequest("unsupported parse_mode");
}

const HTML_TAGS = new Set(
  "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split(" "),
);
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };
const ENTITY = /&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([\da-fA-F]{1,6}));/y;
const START_TAG = /<([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>/y;
const END_TAG = /<\/([^\s>]*)\s*>/y;

/**
 * Checks `html` against Telegram's HTML subset and returns the text a reader sees. Stricter than
 * Telegram on one point: a bare `&` is refused, because Telegram's docs require escaping it.
 */
export function parseTelegramHtml(html: string): string {
  const open: string[] = [];
  let shown = "";
  let i = 0;
  const fail = (reason: string, suffix = ""): never => {
    const offset = new TextEncoder().encode(html.slice(0, i)).length;
    throw badRequest(`can't parse entities: ${reason} at byte offset ${offset}${suffix}`);
  };
  while (i < html.length) {
    const c = html[i];
    if (c === "&") {
      ENTITY.lastIndex = i;
      const m = ENTITY.exec(html);
      const code = m?.[2] ? parseInt(m[2], 10) : m?.[3] ? parseInt(m[3], 16) : -1;
      if (!m || code === 0 || code > 0x10ffff) return fail(`Unescaped "&"`);
      shown += m[1] ? NAMED_ENTITIES[m[1]] : String.fromCodePoint(code);
      i = ENTITY.lastIndex;
    } else if (c !== "<") {
      shown += c;
      i++;
    } else if (html[i + 1] === "/") {
      END_TAG.lastIndex = i;
      const m = END_TAG.exec(html) ?? fail("Unclosed end tag");
      const expected = open.pop() ?? fail("Unexpected end tag");
      const found = m[1].toLowerCase();
      if (found !== expected) {
        fail("Unmatched end tag", `, expected "</${expected}>", found "</${found}>"`);
      }
      i = END_TAG.lastIndex;
    } else {
      START_TAG.lastIndex = i;
      const m = START_TAG.exec(html);
      const name = (m?.[1] ?? /^<([^\s>]*)/.exec(html.slice(i))![1]).toLowerCase();
      if (!HTML_TAGS.has(name)) fail(`Unsupported start tag "${name}"`);
      if (!m) return fail("Unclosed start tag");
      if (name === "span" && !/\sclass\s*=\s*(["']?)tg-spoiler\1(?:\s|$)/.test(m[2] + " ")) {
        fail(`Tag "span" must have class "tg-spoiler"`);
      }
      open.push(name);
      i = START_TAG.lastIndex;
    }
  }
  if (open.length) {
    throw badRequest(
      `can't parse entities: Can't find end tag corresponding to start tag "${open.at(-1)}"`,
    );
  }
  return shown;
}
