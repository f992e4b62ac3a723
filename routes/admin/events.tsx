/** `/admin/events`: the live feed, 100 at a time, older ones below an event id. */
import { Hono } from "hono";
import { recentEvents } from "../../core/live/stream.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import EventFeed from "../../islands/EventFeed.tsx";
import { isId } from "../_validation.ts";
import { adminPage } from "./_page.tsx";

/** Events a page shows. */
const EVENTS_PAGE = 100;

/** The newest events, or those below `?before=` ("Load older"). */
export const eventsPage = new Hono<AppEnv>()
  .get("/events", async (c) => {
    const asked = c.req.query("before");
    const before = asked !== undefined && isId("event", asked) ? asked : undefined;
    // One more than shown says whether there are more.
    const read = await recentEvents(c.get("ctx"), EVENTS_PAGE + 1, before);
    const props = {
      initial: read.slice(0, EVENTS_PAGE),
      before,
      older: read.length > EVENTS_PAGE,
    };
    return adminPage(
      c,
      { title: "Events", path: "/admin/events" },
      <Island name="EventFeed" component={EventFeed} props={props} />,
    );
  });
