import { checkKv } from "../kv/health.ts";
import { readAdminStats } from "./admin/stats.ts";
import type { ChannelHealth, ChannelName } from "./delivery/channel.ts";
import type { DeliveryRouter } from "./delivery/router.ts";
import type { Services } from "./services.ts";
import { VERSION } from "./version.ts";

/** What operators' endpoints read: the services, channel health, sockets and group commits. */
export interface OperationsContext extends Services {
  delivery: DeliveryRouter;
  presence: { hub: { readonly size: number } };
}

/** The readiness answer: KV reachable, channels configured and working. */
export interface Readiness {
  status: "ok" | "degraded" | "down";
  kv: "ok" | "down";
  version: string;
  channels: Record<ChannelName, ChannelHealth>;
}

/** Whether this instance can serve: `down` without KV, `degraded` when a channel fails. */
export async function readiness(ctx: OperationsContext): Promise<Readiness> {
  const kvOk = await checkKv(ctx.kv);
  const channels = ctx.delivery.health();
  const configured = Object.values(channels).filter((channel) => channel.configured);
  const status = !kvOk
    ? "down"
    : configured.length === 0 || configured.some((channel) => !channel.ok)
    ? "degraded"
    : "ok";
  return { status, kv: kvOk ? "ok" : "down", version: VERSION, channels };
}

/** `/metrics` in the Prometheus text format: this instance's counters and shared gauges. */
export async function metricsText(ctx: OperationsContext): Promise<string> {
  const stats = await readAdminStats(ctx);
  const commits = ctx.commits.stats;
  return ctx.metrics.render([
    { name: "doorman_users", help: "Users ever created.", values: [[{}, stats.users.total]] },
    {
      name: "doorman_users_online",
      help: "Users recorded online (moved by transitions).",
      values: [[{}, stats.users.online]],
    },
    {
      name: "doorman_otp_last_hour",
      help: "Code events in the last 60 minutes, all instances.",
      values: Object.entries(stats.otp).map(([kind, n]) => [{ kind }, n]),
    },
    {
      name: "doorman_channel_up",
      help: "1 when the channel is configured and its last delivery worked.",
      values: Object.entries(stats.channels).map(([channel, h]) => [
        { channel, provider: h.provider },
        h.configured && h.ok ? 1 : 0,
      ]),
    },
    {
      name: "doorman_websockets",
      help: "Presence sockets open on this instance.",
      values: [[{}, ctx.presence.hub.size]],
    },
    {
      name: "doorman_kv_group_commits",
      help: "KV commits made by the group committer on this instance.",
      values: [[{}, commits.commits]],
    },
    {
      name: "doorman_kv_group_contributions",
      help: "Requests' writes those commits carried (contributions per commit = batching).",
      values: [[{}, commits.contributions]],
    },
  ]);
}
