import { readTestRecipientFailures } from "../../kv/test_recipients.ts";
import { getUserEntry, getUserIndex, type User } from "../../kv/users.ts";
import { type Config, ConfigError } from "../config.ts";
import { AppError } from "../errors.ts";
import { Gates } from "./admissions.ts";
import { type ContactRecipient, formatRecipient, parseRecipient } from "./recipients.ts";

/** Wrong codes a test recipient may get in one UTC day; past them its fixed code is wrong. */
export const TEST_RECIPIENT_WRONG_CODES_PER_DAY = 10;

/** A test recipient's turn to have a guess checked: held until its commit is done. */
export interface TestGuess extends Disposable {
  /** The day's wrong codes are used up: the guess is wrong whatever it is. */
  spent: boolean;
}

/**
 * A test recipient's guesses, one at a time on this instance: each reads the day's count of
 * wrong codes (a conflict-free sum) after the one before committed its own, so parallel
 * guesses here never get past the cap, and each other instance sharing the KV can add at
 * most the one guess it is checking. Test recipients are few and rarely used: the queue
 * costs nobody else anything.
 */
export class TestRecipientGuesses {
  readonly #kv: Deno.Kv;
  readonly #turns = new Gates();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Waits for `recipient`'s turn and reads its wrong codes of the day of `now`. */
  async enter(recipient: string, now: number): Promise<TestGuess> {
    const leave = await this.#turns.enter(recipient);
    try {
      const wrong = await readTestRecipientFailures(this.#kv, recipient, now);
      return { spent: wrong >= TEST_RECIPIENT_WRONG_CODES_PER_DAY, [Symbol.dispose]: leave };
    } catch (error) {
      leave();
      throw error;
    }
  }
}

/** Whether a user's phone or email is a test recipient's. */
export function isTestRecipient(
  config: Config,
  user: Pick<User, "phone" | "email">,
): boolean {
  return (user.phone !== null &&
    config.testRecipients.has(formatRecipient({ kind: "phone", value: user.phone }))) ||
    (user.email !== null &&
      config.testRecipients.has(formatRecipient({ kind: "email", value: user.email })));
}

/** 409 for making a test recipient an admin: anyone who knows its fixed code signs in as it. */
export function testRecipientConflict(): AppError {
  return new AppError(
    "CONFLICT",
    "This user's phone or email is a test recipient (OTP_TEST_RECIPIENTS): it cannot be an admin.",
    { reason: "test_recipient" },
  );
}

/**
 * Refuses to start when a stored admin's phone or email is a test recipient (its fixed code
 * would sign anyone in as that admin): a read of each test recipient's user, at most 20.
 */
export async function refuseTestRecipientAdmins(kv: Deno.Kv, config: Config): Promise<void> {
  const problems: string[] = [];
  await Promise.all([...config.testRecipients.keys()].map(async (key) => {
    const { kind, value } = parseRecipient(key) as ContactRecipient;
    const index = await getUserIndex(kv, { kind, value });
    if (!index.value) return;
    const user = await getUserEntry(kv, index.value);
    if (user.value?.role === "admin") {
      problems.push(
        `OTP_TEST_RECIPIENTS: "${value}" is the ${kind} of admin ${user.value.id}; a test ` +
          `recipient cannot be an admin (remove it, or make the user a plain user first)`,
      );
    }
  }));
  if (problems.length > 0) throw new ConfigError(problems.sort());
}
