/** `/admin`: the overview (numbers, chart, funnel, channels, recent activity). */
import { Hono } from "hono";
import { readAdminStats, STATS_RANGES, type StatsRange } from "../../core/admin/stats.ts";
import { recentEvents } from "../../core/live/stream.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import { RECENT_EVENTS } from "../../components/overview/RecentActivity.tsx";
import LiveOverview from "../../islands/LiveOverview.tsx";
import { oneOf } from "../_validation.ts";
import { adminPage } from "./_page.tsx";

const RANGES = Object.keys(STATS_RANGES) as StatsRange[];

/** The overview over `?range=` (the page keeps it in the URL); anything else: the last hour. */
export const overviewPage = new Hono<AppEnv>()
  .get("/", async (c) => {
    const range = oneOf(c.req.query("range"), RANGES) ?? "1h";
    const [stats, events] = await Promise.all([
      readAdminStats(c.get("ctx"), range),
      recentEvents(c.get("ctx"), RECENT_EVENTS),
    ]);
    return adminPage(
      c,
      { title: "Overview", path: "/admin" },
      <Island name="LiveOverview" component={LiveOverview} props={{ stats, range, events }} />,
    );
  });
