/**
 * The one place route files learn what an id, a cursor or a page size looks like: path patterns
 * for Hono (`/users/:id{${ID.user}}`), zod pieces for API queries, and the lenient readers the
 * dashboard's pages use (a page drops a bad query parameter where the API answers 400).
 */
import { z } from "zod";
import { clientError } from "../core/errors.ts";

/** Longest user id a path or query may carry. */
export const MAX_USER_ID_LENGTH = 64;

/**
 * Id shapes, unanchored, for Hono path parameters (`:id{…}`): anything else cannot be one, so
 * it never reaches KV. User ids are kept loose (no `usr_` required): a made-up one is a 404.
 */
export const ID = {
  /** A user id: `usr_` and a ULID today; up to 64 of `A-Z a-z 0-9 _ -`. */
  user: `[A-Za-z0-9_-]{1,${MAX_USER_ID_LENGTH}}`,
  /** A sign-in (refresh family) id: `fam_` and a ULID. */
  family: "fam_[0-9A-Za-z]{26}",
  /** A server API key's id: `key_` and a ULID. */
  apiKey: "key_[0-9A-Za-z]{26}",
  /** A live event's id: a ULID. */
  event: "[0-9A-Z]{26}",
  /** A setting's name. */
  setting: "[a-z_]{1,64}",
} as const;

const ANCHORED = Object.fromEntries(
  Object.entries(ID).map(([kind, pattern]) => [kind, new RegExp(`^${pattern}$`)]),
) as Record<keyof typeof ID, RegExp>;

/** Whether `value` has the shape of an id of `kind` (the same test as the path pattern). */
export function isId(kind: keyof typeof ID, value: string | undefined): boolean {
  return value !== undefined && ANCHORED[kind].test(value);
}

/** Longest cursor a list gives out (KV cursors, base64url). */
const MAX_CURSOR_LENGTH = 1024;
const CURSOR = /^[A-Za-z0-9_=-]*$/;

/** `?cursor=`: a KV cursor is base64url, anything else cannot be one (and must not reach KV). */
export const cursorSchema = z.string().max(MAX_CURSOR_LENGTH)
  .regex(CURSOR, "not a cursor this list gave out")
  .optional().transform((s) => s || undefined);

/** `?limit=`: 1 to 200, 50 when left out. */
export const limitSchema = z.coerce.number().int().min(1).max(200).default(50);

/** The paging half of every list query: spread into a `z.object({…})`. */
export const listQuery = { limit: limitSchema, cursor: cursorSchema };

/** A page's `?cursor=`: the value when it could be a cursor, else nothing (the page starts over). */
export function pageCursor(value: string | undefined): string | undefined {
  return value && value.length <= MAX_CURSOR_LENGTH && CURSOR.test(value) ? value : undefined;
}

/** A page's enum parameter: the value when it is one of `allowed`, else nothing. */
export function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  return (allowed as readonly string[]).includes(value ?? "") ? value as T : undefined;
}

/**
 * Reads one page of a list from `cursor`; a stale or foreign cursor (a 4xx from core) reads
 * the first page instead. Answers which cursor was used, so the page shows the truth.
 */
export async function readFromCursor<T>(
  read: (cursor: string | undefined) => Promise<T>,
  cursor: string | undefined,
): Promise<{ page: T; cursor: string | undefined }> {
  if (cursor === undefined) return { page: await read(undefined), cursor };
  try {
    return { page: await read(cursor), cursor };
  } catch (error) {
    if (!clientError(error)) throw error;
    return { page: await read(undefined), cursor: undefined };
  }
}
