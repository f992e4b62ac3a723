/**
 * What the audit page says about an entry: the action in words ("Suspended", "Ended 2
 * sign-ins"), and each changed value as people read it.
 */

/** The fields of an audit entry the words come from. */
export interface AuditAction {
  action: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

const STATUS_WORDS: Record<string, string> = {
  active: "Reactivated",
  inactive: "Deactivated",
  suspended: "Suspended",
  banned: "Banned",
};
const ROLE_WORDS: Record<string, string> = { admin: "Made admin", user: "Removed admin role" };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "Suspended", "Suspended and made admin", "Ended 2 sign-ins", "Changed settings", … */
export function actionText(entry: AuditAction): string {
  const { action, changes } = entry;
  switch (action) {
    case "user.update": {
      const words: string[] = [];
      const { status, role } = changes;
      if (status) words.push(STATUS_WORDS[String(status.to)] ?? `Set status ${status.to}`);
      if (role) words.push(ROLE_WORDS[String(role.to)] ?? `Set role ${role.to}`);
      if (words.length === 0) return "Changed account";
      return words.map((w, i) => i === 0 ? w : w[0].toLowerCase() + w.slice(1)).join(" and ");
    }
    case "user.sessions_revoke": {
      if (changes.session) return "Ended a sign-in";
      const ended = Number(changes.sessions?.from) - Number(changes.sessions?.to);
      return Number.isFinite(ended) ? `Ended ${plural(ended, "sign-in")}` : "Ended sign-ins";
    }
    case "settings.update":
      return "Changed settings";
    case "fraud.prefix_unblock":
      return "Lifted block";
    case "api_key.create":
      return "Created API key";
    case "api_key.revoke":
      return "Revoked API key";
    case "signing_key.create":
      return "Created signing key";
    case "signing_key.activate":
      return "Activated signing key";
    case "signing_key.revoke":
      return "Revoked signing key";
    default:
      return action;
  }
}

/** Whether a value is a moment (an ISO-8601 UTC string), to be shown in local time. */
export function isMoment(value: unknown): value is string {
  return typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value);
}

/** A changed value as text: "—" for none, the value otherwise. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
