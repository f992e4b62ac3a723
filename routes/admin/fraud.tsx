/** `/admin/fraud`: SMS spent today and the number ranges refused for now. */
import { Hono } from "hono";
import { readFraud } from "../../core/admin/fraud.ts";
import {
  AUTOBLOCK_MIN_SENT,
  AUTOBLOCK_MIN_VERIFIED_SHARE,
} from "../../core/delivery/sms_protection.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import FraudPanel from "../../islands/FraudPanel.tsx";
import { adminPage } from "./_page.tsx";

/** The fraud panel with the protection in force (what would block a range). */
export const fraudPage = new Hono<AppEnv>()
  .get("/fraud", async (c) => {
    const ctx = c.get("ctx");
    const initial = await readFraud(ctx);
    const protection = ctx.config.smsProtection;
    const rules = {
      autoblock: protection.prefixAutoblock,
      minSent: AUTOBLOCK_MIN_SENT,
      minUsedPercent: Math.round(AUTOBLOCK_MIN_VERIFIED_SHARE * 100),
      prefixLimitPerHour: protection.prefixLimitPerHour,
      allowedCountries: protection.allowedCountries,
    };
    return adminPage(
      c,
      { title: "Fraud", path: "/admin/fraud" },
      <>
        <p class="lead muted">
          SMS pumping protection: what SMS cost today, and the number ranges refused for now.
        </p>
        <Island name="FraudPanel" component={FraudPanel} props={{ initial, rules }} />
      </>,
    );
  });
