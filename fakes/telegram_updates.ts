/** Updates as Telegram sends them when a person writes to the bot in a private chat. */

type Payload = Record<string, unknown>;

let nextUpdateId = 100_000;
let nextPersonMessageId = 1;

export function takeUpdateId(wanted?: number): number {
  const id = wanted ?? nextUpdateId;
  nextUpdateId = Math.max(nextUpdateId, id + 1);
  return id;
}

/** A private-chat text message from a person, as Telegram delivers it to the bot. */
export function textUpdate(options: {
  updateId?: number;
  from: { id: number; first_name?: string; username?: string };
  text: string;
}): Record<string, unknown> {
  const message = personMessage(options.from);
  message.text = options.text;
  const command = /^\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?/.exec(options.text);
  if (command) message.entities = [{ type: "bot_command", offset: 0, length: command[0].length }];
  return { update_id: takeUpdateId(options.updateId), message };
}

/** A private-chat message sharing a phone number, as a "share contact" button sends it. */
export function contactUpdate(options: {
  updateId?: number;
  from: { id: number; first_name?: string };
  contact: { phone_number: string; user_id?: number; first_name?: string };
}): Record<string, unknown> {
  const message = personMessage(options.from);
  const { phone_number, user_id, first_name } = options.contact;
  message.contact = {
    phone_number,
    first_name: first_name ?? options.from.first_name ?? "Test",
    ...(user_id === undefined ? {} : { user_id }),
  };
  return { update_id: takeUpdateId(options.updateId), message };
}

function personMessage(from: { id: number; first_name?: string; username?: string }): Payload {
  const { id, username } = from;
  const first_name = from.first_name ?? "Test";
  const named = username === undefined ? { first_name } : { first_name, username };
  return {
    message_id: nextPersonMessageId++,
    from: { id, is_bot: false, ...named },
    chat: { id, ...named, type: "private" },
    date: Math.floor(Date.now() / 1000),
  };
}
