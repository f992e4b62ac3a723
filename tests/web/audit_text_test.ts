import assert from "node:assert/strict";
import { actionText, isMoment, valueText } from "../../components/lib/audit_text.ts";
import { describe } from "../../components/lib/event_text.ts";

Deno.test("actionText() - each audited action in words, from what changed", () => {
  const cases: [string, Record<string, { from: unknown; to: unknown }>, string][] = [
    ["user.update", { status: { from: "active", to: "suspended" } }, "Suspended"],
    ["user.update", { status: { from: "suspended", to: "active" } }, "Reactivated"],
    ["user.update", { status: { from: "active", to: "banned" } }, "Banned"],
    ["user.update", { status: { from: "active", to: "inactive" } }, "Deactivated"],
    ["user.update", { role: { from: "user", to: "admin" } }, "Made admin"],
    [
      "user.update",
      { status: { from: "active", to: "suspended" }, role: { from: "admin", to: "user" } },
      "Suspended and removed admin role",
    ],
    [
      "user.update",
      { suspended_until: { from: null, to: "2026-12-02T10:00:00.000Z" } },
      "Changed account",
    ],
    ["user.sessions_revoke", { sessions: { from: 2, to: 0 } }, "Ended 2 sign-ins"],
    ["user.sessions_revoke", { sessions: { from: 1, to: 0 } }, "Ended 1 sign-in"],
    [
      "user.sessions_revoke",
      { sessions: { from: 3, to: 2 }, session: { from: "fam_x", to: null } },
      "Ended a sign-in",
    ],
    ["settings.update", { otp_length: { from: 6, to: 8 } }, "Changed settings"],
    ["fraud.prefix_unblock", { status: { from: "blocked", to: "lifted" } }, "Lifted block"],
    ["signing_key.create", { state: { from: null, to: "standby" } }, "Created signing key"],
    [
      "signing_key.activate",
      { state: { from: "standby", to: "current" } },
      "Activated signing key",
    ],
    ["signing_key.revoke", { state: { from: "previous", to: "revoked" } }, "Revoked signing key"],
    ["webhook.rotate", {}, "webhook.rotate"],
  ];
  for (const [action, changes, words] of cases) {
    assert.equal(actionText({ action, changes }), words, action);
  }
});

Deno.test("valueText() and isMoment() - none is a dash; ISO moments are told apart", () => {
  assert.equal(valueText(null), "—");
  assert.equal(valueText(undefined), "—");
  assert.equal(valueText(8), "8");
  assert.equal(valueText("suspended"), "suspended");
  assert.equal(valueText({ a: 1 }), '{"a":1}');
  assert.ok(isMoment("2026-12-02T10:00:00.000Z"));
  assert.ok(!isMoment("2026-12-02"));
  assert.ok(!isMoment(1764669600000));
});

Deno.test("event text - a sign-in an admin ended says so; one the user ended does not", () => {
  const at = "2026-12-01T10:00:00.000Z";
  assert.equal(describe({ type: "user.signed_out", at, user_id: "usr_a" }), "Signed out");
  assert.equal(
    describe({ type: "user.signed_out", at, user_id: "usr_a", by: "usr_b" }),
    "Sign-in ended by an admin",
  );
});
