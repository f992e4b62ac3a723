/**
 * The people of `deno task demo`: each lives in a loop — signs in (now and then mistyping the
 * code, or asking twice and getting rate limited), stays online by HTTP heartbeats or an open
 * WebSocket (which sometimes drops and reconnects within the grace), then signs out or just
 * goes quiet until the presence timeout takes them offline, rests, and comes back.
 */
import { type DemoInboxes, type Identity, type Quirks, Refused, Visitor } from "./visitor.ts";

/** How a person keeps themselves online. */
type Habit = "heartbeat" | "socket";

/** Who signs in, how, from which client IP, and how they stay online. */
const CAST: { identity: Identity; habit: Habit }[] = [
  { identity: { kind: "sms", phone: "+14155550100" }, habit: "heartbeat" },
  { identity: { kind: "email", email: "ada@example.com" }, habit: "socket" },
  { identity: { kind: "telegram", telegramId: 7100000001, name: "Alan" }, habit: "heartbeat" },
  { identity: { kind: "sms", phone: "+16465550100" }, habit: "socket" },
  { identity: { kind: "email", email: "grace.hopper@example.com" }, habit: "heartbeat" },
  {
    identity: {
      kind: "telegram_phone",
      phone: "+14155550102",
      telegramId: 7100000002,
      name: "Edsger",
    },
    habit: "socket",
  },
  { identity: { kind: "sms", phone: "+14155550101" }, habit: "heartbeat" },
  { identity: { kind: "email", email: "margaret@example.net" }, habit: "socket" },
  { identity: { kind: "telegram", telegramId: 7100000003, name: "Barbara" }, habit: "socket" },
  { identity: { kind: "sms", phone: "+12125550100" }, habit: "heartbeat" },
  { identity: { kind: "email", email: "linus@example.org" }, habit: "heartbeat" },
  { identity: { kind: "sms", phone: "+16465550101" }, habit: "socket" },
];

/** How many people the demo simulates. */
export const CAST_SIZE = CAST.length;

/**
 * The pace of the demo, in seconds: a few people at once so the dashboard fills at the start,
 * the others arriving one by one, and short visits, so that something happens every few
 * seconds from the first minute on (all at once, then nothing for half a minute, looks frozen).
 */
export const PACE = {
  /** How many people start at once (300 ms apart). */
  firstWave: 4,
  /** Seconds between the arrivals of the others. */
  arrivalGap: 2.5,
  /** Seconds a visit stays online. */
  online: [15, 60],
  /** Seconds between a visit's end and the next sign-in. */
  rest: [5, 25],
} as const;

/** When each person of the cast first signs in, in seconds from the start. */
export function startTimes(): number[] {
  return CAST.map((_, i) =>
    i < PACE.firstWave ? i * 0.3 : (i - PACE.firstWave + 1) * PACE.arrivalGap
  );
}

/** Starts every person's life at its start time; they live until the process ends. */
export function simulate(options: { baseUrl: string; inboxes: DemoInboxes }): void {
  const visitors = CAST.map(({ identity }, i) =>
    new Visitor(identity, `203.0.113.${10 + i}`, options.baseUrl, options.inboxes)
  );
  const others = () => visitors.flatMap((v) => (v.userId ? [v.userId] : []));
  const starts = startTimes();
  visitors.forEach((visitor, i) => {
    setTimeout(() => live(visitor, CAST[i].habit, others), starts[i] * 1000);
  });
}

async function live(visitor: Visitor, habit: Habit, others: () => string[]): Promise<never> {
  for (;;) {
    try {
      if (!visitor.signedIn) await visitor.signIn(quirks());
      const online = between(...PACE.online);
      if (habit === "heartbeat") await beat(visitor, online);
      else await keepSocket(visitor, online, others);
      // Some sign out; the others just go quiet and the presence timeout takes them offline.
      if (Math.random() < 0.3) await visitor.logout();
      else visitor.disconnect();
      await sleep(between(...PACE.rest));
    } catch (error) {
      visitor.disconnect();
      // Refused (rate limited, a burnt code): wait as told. Anything else: Doorman is stopping.
      const retryAfter = error instanceof Refused ? error.retryAfter : 0;
      await sleep(Math.min(Math.max(retryAfter, between(5, 20)), 120));
    }
  }
}

/** What goes wrong on the way in: mostly nothing. */
function quirks(): Quirks {
  const roll = Math.random();
  const typos = roll < 0.2 ? 1 : roll < 0.27 ? 2 : roll < 0.3 ? 5 : 0;
  return { typos, impatient: Math.random() < 0.15 };
}

/** HTTP heartbeats at the interval the server asks for, for `seconds`. */
async function beat(visitor: Visitor, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) await sleep(await visitor.heartbeat());
}

/** An open WebSocket for `seconds`; now and then it drops and comes back within the grace. */
async function keepSocket(visitor: Visitor, seconds: number, others: () => string[]) {
  await visitor.connect(others());
  if (Math.random() < 0.4) {
    await sleep(seconds / 2);
    visitor.disconnect();
    await sleep(between(1, 3));
    await visitor.connect(others());
    await sleep(seconds / 2);
  } else {
    await sleep(seconds);
  }
}

function between(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
