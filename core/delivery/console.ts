import type { Logger } from "../log.ts";
import type { Channel, ChannelName, CodeMessage } from "./channel.ts";

/** Development only: prints each message, code included, to the server log. */
export function consoleChannel(name: Exclude<ChannelName, "telegram">, log: Logger): Channel {
  return {
    name,
    provider: "console",
    send(to: string, message: CodeMessage): Promise<void> {
      log.info(`[${name} to ${to}] ${message.text}`);
      return Promise.resolve();
    },
  };
}
