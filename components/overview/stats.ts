/** What the overview shows, typed by the admin API's routes. */
import type { InferResponseType } from "hono/client";
import type { api } from "../lib/api.ts";

/** `GET /api/v1/admin/stats` (README, "What an admin sees"). */
export type Stats = InferResponseType<typeof api.stats.$get, 200>;

/** A channel's name, as the stats key them. */
export type ChannelName = keyof Stats["channels"];

/** The channels in the order the overview lists them. */
export const CHANNEL_ORDER: readonly ChannelName[] = ["telegram", "sms", "email"];

/** How people call each channel. */
export const CHANNEL_LABELS: Record<ChannelName, string> = {
  telegram: "Telegram",
  sms: "SMS",
  email: "Email",
};
