import type { InferRequestType, InferResponseType } from "hono/client";
import { useState } from "preact/hooks";
import { api, ApiError, call } from "../components/lib/api.ts";

/** A setting's range, its boot-time default, and what it means. */
export interface SettingSpec {
  name: string;
  label: string;
  help: string;
  min: number;
  max: number;
  /** The value in force without an admin's override (the environment's, or the built-in). */
  default: number;
  unit?: string;
}

/** `GET /api/v1/admin/settings`: every setting with its value. */
export type Settings = InferResponseType<typeof api.settings.$get, 200>;
type SettingsPatch = InferRequestType<typeof api.settings.$put>["json"];
type Values = Record<string, number>;
type Status = { kind: "ok" | "error"; text: string };

const settingByName = api.settings[":name{[a-z_]{1,64}}"];

/** Problems with the values as typed, before anything is sent. */
export function validate(values: Values, specs: SettingSpec[]): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const spec of specs) {
    const value = values[spec.name];
    if (!Number.isInteger(value)) problems[spec.name] = "Enter a whole number.";
    else if (value < spec.min || value > spec.max) {
      problems[spec.name] = `Must be between ${spec.min} and ${spec.max}.`;
    }
  }
  if (
    !problems.heartbeat_interval_seconds &&
    values.heartbeat_interval_seconds >= values.presence_timeout_seconds
  ) {
    problems.heartbeat_interval_seconds = "Must be below the presence timeout.";
  }
  return problems;
}

/**
 * Every setting with its range, checked here and by the server, effective at once; each says
 * whether an admin overrode its default, and an override can be reset to it.
 */
export default function SettingsForm(
  { settings, specs, overridden: initiallyOverridden }: {
    settings: Settings;
    specs: SettingSpec[];
    /** The settings an admin's override is in force for. */
    overridden: string[];
  },
) {
  const [values, setValues] = useState<Values>(settings);
  const [saved, setSaved] = useState<Values>(settings);
  const [overridden, setOverridden] = useState(new Set(initiallyOverridden));
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<Status | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);
  const dirty = specs.some((spec) => values[spec.name] !== saved[spec.name]);

  const failed = (error: unknown, fallback: string) => {
    if (error instanceof ApiError && error.details.length > 0) {
      setProblems(Object.fromEntries(error.details.map((d) => [d.path, d.message])));
    }
    setStatus({ kind: "error", text: error instanceof ApiError ? error.message : fallback });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const found = validate(values, specs);
    setProblems(found);
    if (Object.keys(found).length > 0) {
      setStatus({ kind: "error", text: "Fix the highlighted values." });
      return;
    }
    const changed: SettingsPatch = Object.fromEntries(
      specs.filter((s) => values[s.name] !== saved[s.name]).map((s) => [s.name, values[s.name]]),
    );
    try {
      const next = await call(api.settings.$put({ json: changed }));
      setValues(next);
      setSaved(next);
      // What was sent is stored as an override, even a value equal to the default.
      setOverridden(new Set([...overridden, ...Object.keys(changed)]));
      setStatus({ kind: "ok", text: "Saved. The new values are in force." });
    } catch (error) {
      failed(error, "Saving failed.");
    }
  };

  /** Drops one override: the setting follows its default again (audited by the server). */
  const reset = async (spec: SettingSpec) => {
    setResetting(spec.name);
    try {
      const next = await call(settingByName.$delete({ param: { name: spec.name } }));
      setSaved(next);
      // Other fields keep what is typed in them and not saved yet.
      setValues({ ...values, [spec.name]: next[spec.name as keyof Settings] });
      const rest = new Set(overridden);
      rest.delete(spec.name);
      setOverridden(rest);
      const { [spec.name]: _fixed, ...others } = problems;
      setProblems(others);
      setStatus({ kind: "ok", text: `${spec.label} is back to its default.` });
      // The button is gone: keep the keyboard's place on the value it reset.
      document.getElementById(spec.name)?.focus();
    } catch (error) {
      failed(error, "Resetting failed.");
    } finally {
      setResetting(null);
    }
  };

  return (
    <form class="settings" onSubmit={submit} noValidate>
      {specs.map((spec) => (
        <div
          class={`field${problems[spec.name] ? " field-error" : ""}${
            overridden.has(spec.name) ? " field-overridden" : ""
          }`}
          key={spec.name}
        >
          <label for={spec.name}>{spec.label}</label>
          <div class="origin-row">
            <Origin spec={spec} overridden={overridden.has(spec.name)} />
            {overridden.has(spec.name) && (
              <button
                type="button"
                class="link reset"
                onClick={() => reset(spec)}
                disabled={resetting !== null}
                aria-label={`Reset to default: ${spec.label}`}
                data-testid={`reset-${spec.name}`}
              >
                {resetting === spec.name ? "Resetting…" : "Reset to default"}
              </button>
            )}
          </div>
          <div class="input-row">
            <input
              id={spec.name}
              name={spec.name}
              type="number"
              inputMode="numeric"
              min={spec.min}
              max={spec.max}
              step={1}
              required
              value={Number.isNaN(values[spec.name]) ? "" : values[spec.name]}
              aria-invalid={problems[spec.name] ? "true" : "false"}
              aria-describedby={`${spec.name}-help`}
              onInput={(e) =>
                setValues({ ...values, [spec.name]: Number((e.target as HTMLInputElement).value) })}
            />
            {spec.unit && <span class="unit">{spec.unit}</span>}
          </div>
          <p class="help" id={`${spec.name}-help`}>
            {problems[spec.name] ?? `${spec.help} (${spec.min}–${spec.max})`}
          </p>
        </div>
      ))}
      <div class="form-actions">
        <button type="submit" class="primary" disabled={!dirty}>Save settings</button>
        {status && (
          <span class={status.kind === "ok" ? "ok-text" : "error-text"} role="status">
            {status.text}
          </span>
        )}
      </div>
    </form>
  );
}

/** Whether the value is the default or an admin's override, and what the default is. */
function Origin({ spec, overridden }: { spec: SettingSpec; overridden: boolean }) {
  const value = `${spec.default}${spec.unit ? ` ${spec.unit}` : ""}`;
  return (
    <span class="origin" data-testid={`origin-${spec.name}`}>
      {overridden ? <strong>overridden</strong> : null}
      {overridden ? `, default ${value}` : `default ${value}`}
    </span>
  );
}
