import type { InferResponseType } from "hono/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { api, ApiError, call } from "../components/lib/api.ts";
import { refreshOn } from "../components/lib/live.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { LocalTime, TimeZoneNote } from "../components/LocalTime.tsx";

/** `GET /api/v1/admin/fraud`. */
export type Fraud = InferResponseType<typeof api.fraud.$get, 200>;
type BlockedRange = Fraud["blocked_prefixes"][number];

/** The SMS protection in force (README, "Protecting an SMS budget"), as the page explains it. */
export interface SmsRules {
  autoblock: boolean;
  /** A range is judged once its last hour had this many SMS. */
  minSent: number;
  /** … and blocked when under this share of their codes were used (percent). */
  minUsedPercent: number;
  prefixLimitPerHour: number;
  /** Countries SMS may go to; empty: all. */
  allowedCountries: string[];
}

const prefixParam = api.fraud.prefixes[":prefix"];

/** Events after which the numbers on this page may have moved. */
function concernsSms(data: Record<string, unknown>): boolean {
  const type = String(data.type);
  return data.type === "fraud.prefix_blocked" || type === "fraud.prefix_unblock" ||
    type === "channel.budget_exhausted" ||
    ((type === "otp.sent" || type === "otp.refused") && data.channel === "sms");
}

/** Today's SMS against the budget and the blocked number ranges, with "Lift", kept live. */
export default function FraudPanel({ initial, rules }: { initial: Fraud; rules: SmsRules }) {
  const [fraud, setFraud] = useState(initial);
  const [asking, setAsking] = useState<BlockedRange | null>(null);
  const [failed, setFailed] = useState<{ prefix: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const focusAfter = useRef<HTMLElement | null>(null);

  const refresh = () => call(api.fraud.$get()).then(setFraud).catch(() => {});

  useEffect(() => refreshOn((event) => concernsSms(event.data), refresh, 300), []);

  const lift = async (range: BlockedRange) => {
    setBusy(true);
    setFailed(null);
    try {
      await prefixParam.$delete({ param: { prefix: encodeURIComponent(range.prefix) } });
      drop(range.prefix);
      // The button that had focus goes with its row: focus moves to the list's heading.
      focusAfter.current = heading.current;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) drop(range.prefix);
      else {
        setFailed({
          prefix: range.prefix,
          message: e instanceof ApiError ? e.message : "Lifting the block failed. Try again.",
        });
      }
    } finally {
      setBusy(false);
      setAsking(null);
    }
  };

  const drop = (prefix: string) =>
    setFraud((f) => ({
      ...f,
      blocked_prefixes: f.blocked_prefixes.filter((b) => b.prefix !== prefix),
    }));

  const ranges = fraud.blocked_prefixes;
  return (
    <div class="fraud">
      <div class="section-head">
        <h2>SMS budget</h2>
        <LiveBadge />
      </div>
      <div class="panels panels-even">
        <Budget today={fraud.sms_today} limit={fraud.sms_daily_limit} />
        <Rules rules={rules} />
      </div>

      <div class="section-head">
        <h2 ref={heading} tabIndex={-1}>
          Blocked number ranges{" "}
          <span class="count" data-testid="blocked-count">{ranges.length}</span>
        </h2>
      </div>
      {ranges.length === 0 ? <NothingBlocked rules={rules} /> : (
        <div class="table-wrap">
          <table class="ranges cards-on-phone" data-testid="blocked-ranges">
            <thead>
              <tr>
                <th scope="col">Range</th>
                <th scope="col">
                  Blocked until, <TimeZoneNote />
                </th>
                <th scope="col">Why</th>
                <th scope="col" class="num">Sent / used</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {ranges.map((range) => (
                <tr key={range.prefix} data-prefix={range.prefix}>
                  <td data-label="Range">
                    <span class="prefix mono">{range.prefix}</span>
                  </td>
                  <td data-label="Until" class="nowrap">
                    <LocalTime iso={range.until} date />
                  </td>
                  <td data-label="Why">{range.reason}</td>
                  <td data-label="Sent / used" class="num">
                    {range.sent} / {range.verified}
                  </td>
                  <td class="actions">
                    {failed?.prefix === range.prefix && (
                      <span class="error-text" role="alert">{failed.message}</span>
                    )}
                    <button
                      type="button"
                      onClick={() => setAsking(range)}
                      aria-label={`Lift the block of ${range.prefix}`}
                    >
                      Lift
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <ConfirmDialog
        asking={asking}
        titleId="lift-title"
        answer={() => ({ label: busy ? "Lifting…" : "Lift block", danger: true })}
        busy={busy}
        onConfirm={lift}
        onClose={() => setAsking(null)}
        focusAfter={focusAfter}
      >
        {(range) => (
          <>
            <h2 id="lift-title">Lift the block of {range.prefix}?</h2>
            <p>
              SMS to numbers in <strong>{range.prefix}</strong>{" "}
              go out again at once. For the next hour its unused codes will not block it again.
            </p>
          </>
        )}
      </ConfirmDialog>
    </div>
  );
}

/** Today's SMS against the daily limit: a meter, and the numbers in words. */
function Budget({ today, limit }: { today: number; limit: number | null }) {
  const percent = limit ? Math.min(100, Math.round((today / limit) * 100)) : 0;
  const spent = limit !== null && today >= limit;
  return (
    <section class="panel budget" aria-labelledby="budget-title">
      <h3 id="budget-title" class="panel-title">SMS sent today</h3>
      <div class="budget-numbers">
        <span class="budget-value" data-testid="sms-today">{today}</span>
        {limit !== null
          ? <span class="muted">of {limit} a day · {percent} %</span>
          : <span class="muted">no daily limit</span>}
      </div>
      {limit !== null && (
        <meter
          min={0}
          max={limit}
          low={limit * 0.8}
          high={limit * 0.95}
          optimum={0}
          value={Math.min(today, limit)}
          aria-label="SMS sent today against the daily limit"
        >
          {today} of {limit}
        </meter>
      )}
      <p class="muted small">
        {limit === null
          ? "Set SMS_DAILY_LIMIT to cap what a day gone wrong can cost."
          : spent
          ? "Spent: SMS are refused until the UTC day ends; Telegram still works where it can."
          : "Counted per UTC day. Past the limit SMS are refused and a channel event goes out."}
      </p>
    </section>
  );
}

/** The protection in force, so the numbers on the page can be read against it. */
function Rules({ rules }: { rules: SmsRules }) {
  return (
    <section class="panel" aria-labelledby="rules-title">
      <h3 id="rules-title" class="panel-title">Protection in force</h3>
      <dl class="facts">
        <dt>Per number range</dt>
        <dd>{rules.prefixLimitPerHour} SMS an hour</dd>
        <dt>Automatic block</dt>
        <dd>
          {rules.autoblock
            ? `on: ≥ ${rules.minSent} SMS, < ${rules.minUsedPercent} % used in an hour`
            : "off (SMS_PREFIX_AUTOBLOCK=false)"}
        </dd>
        <dt>Countries</dt>
        <dd>{rules.allowedCountries.length ? rules.allowedCountries.join(", ") : "all"}</dd>
      </dl>
    </section>
  );
}

/** No range is blocked: what would block one, and where to read more. */
function NothingBlocked({ rules }: { rules: SmsRules }) {
  return (
    <div class="empty-state" data-testid="no-blocks">
      <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" class="empty-icon">
        <path
          d="M12 3 4.5 6v5.5c0 4.4 3.1 8.3 7.5 9.5 4.4-1.2 7.5-5.1 7.5-9.5V6L12 3Zm-3.2 9.2 2.2 2.2 4.4-4.6"
          fill="none"
          stroke="currentColor"
          stroke-width="1.6"
          stroke-linejoin="round"
        />
      </svg>
      <h3>No number range is blocked</h3>
      <p>
        A range is a country calling code and the next three digits (<span class="mono">
          +1415
        </span>, <span class="mono">+44791</span>). {rules.autoblock
          ? `It is blocked for 24 hours when its last hour had at least ${rules.minSent} SMS and fewer than ${rules.minUsedPercent} % of their codes were used: the mark of SMS pumping.`
          : "Automatic blocking is off, so no range is blocked by itself."}
      </p>
      <p class="muted small">
        How it works, and what to set: the README, section “Protecting an SMS budget”.
      </p>
    </div>
  );
}
