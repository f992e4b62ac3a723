import type { InferRequestType, InferResponseType } from "hono/client";
import { useState } from "preact/hooks";
import { api, ApiError, call } from "./lib/api.ts";

/** A setting's range and what it means. */
export interface SettingSpec {
  name: string;
  label: string;
  help: string;
  min: number;
  max: number;
  unit?: string;
}

/** `GET /api/v1/admin/settings`: every setting with its value. */
export type Settings = InferResponseType<typeof api.settings.$get, 200>;
type SettingsPatch = InferRequestType<typeof api.settings.$put>["json"];
type Values = Record<string, number>;

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

/** Every setting with its range, checked here and by the server, effective at once. */
export default function SettingsForm(
  { settings, specs }: { settings: Settings; specs: SettingSpec[] },
) {
  const [values, setValues] = useState<Values>(settings);
  const [saved, setSaved] = useState<Values>(settings);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const dirty = specs.some((spec) => values[spec.name] !== saved[spec.name]);

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
      setStatus({ kind: "ok", text: "Saved. The new values are in force." });
    } catch (error) {
      if (error instanceof ApiError && error.details.length > 0) {
        setProblems(Object.fromEntries(error.details.map((d) => [d.path, d.message])));
      }
      setStatus({
        kind: "error",
        text: error instanceof ApiError ? error.message : "Saving failed.",
      });
    }
  };

  return (
    <form class="settings" onSubmit={submit} noValidate>
      {specs.map((spec) => (
        <div class={`field${problems[spec.name] ? " field-error" : ""}`} key={spec.name}>
          <label for={spec.name}>{spec.label}</label>
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
