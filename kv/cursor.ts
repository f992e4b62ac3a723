/** A list cursor KV does not recognize (it came from a client, not from KV). */
export class InvalidCursor extends Error {
  constructor() {
    super("Cannot continue the list: the cursor is not one this list gave out");
    this.name = "InvalidCursor";
  }
}

/** Runs a list read, turning KV's "invalid cursor" into `InvalidCursor`. */
export async function withCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof TypeError && /invalid cursor/i.test(error.message)) {
      throw new InvalidCursor();
    }
    throw error;
  }
}
