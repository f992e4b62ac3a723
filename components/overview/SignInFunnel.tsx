import { percent } from "./ranges.ts";
import { CHANNEL_LABELS, CHANNEL_ORDER, type ChannelName, type Stats } from "./stats.ts";

type Step = keyof Stats["funnel"][ChannelName];

const STEPS: readonly [Step, string][] = [
  ["requested", "Requested"],
  ["sent", "Sent"],
  ["verified", "Verified"],
];

/** Per channel: codes requested, sent and used to sign in, as bars with their numbers on them. */
export function SignInFunnel(
  { funnel, channels, period }: {
    funnel: Stats["funnel"];
    channels: Stats["channels"];
    period: string;
  },
) {
  return (
    <section class="panel ov-panel" aria-labelledby="ov-funnel-title">
      <div class="ov-panel-head">
        <h2 id="ov-funnel-title">Sign-in funnel</h2>
        <span class="muted small">{period}</span>
      </div>
      <div class="funnels">
        {CHANNEL_ORDER.map((name) => (
          <ChannelFunnel
            key={name}
            name={name}
            counts={funnel[name]}
            configured={channels[name].configured}
            period={period}
          />
        ))}
      </div>
    </section>
  );
}

function ChannelFunnel(
  { name, counts, configured, period }: {
    name: ChannelName;
    counts: Stats["funnel"][ChannelName];
    configured: boolean;
    period: string;
  },
) {
  const label = CHANNEL_LABELS[name];
  const byName = name === "email" ? "email" : label;
  // Bars are in proportion to the widest step (a code requested before the period began may
  // be sent or used within it).
  const widest = Math.max(counts.requested, counts.sent, counts.verified);
  return (
    <div class="funnel" data-testid={`funnel-${name}`}>
      <h3 class="funnel-name">
        {label}
        {widest > 0 && (
          <span class="muted">
            {percent(counts.verified, counts.requested)} signed in
          </span>
        )}
      </h3>
      {widest === 0
        ? (
          <p class="funnel-none muted" data-testid={`funnel-${name}-none`}>
            {configured
              ? `No codes by ${byName} in the ${period}.`
              : `Not configured: no codes go by ${byName}.`}
          </p>
        )
        : (
          <ol class="funnel-steps">
            {STEPS.map(([step, stepLabel]) => (
              <li key={step} class={`funnel-step funnel-${step}`}>
                <svg class="funnel-bar" aria-hidden="true">
                  <rect class="funnel-track" width="100%" height="100%" rx="4" />
                  <rect
                    class="funnel-fill"
                    width={`${((counts[step] / widest) * 100).toFixed(2)}%`}
                    height="100%"
                    rx="4"
                  />
                </svg>
                <span class="funnel-text">
                  <span class="funnel-step-name">{stepLabel}</span>
                  <b data-testid={`funnel-${name}-${step}`}>{counts[step]}</b>
                  {step !== "requested" && (
                    <span class="funnel-share">{percent(counts[step], counts.requested)}</span>
                  )}
                </span>
              </li>
            ))}
          </ol>
        )}
    </div>
  );
}
