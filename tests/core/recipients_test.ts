import assert from "node:assert/strict";
import { normalizeEmail, normalizePhone } from "../../core/auth/recipients.ts";

Deno.test("normalizePhone() - writes every spelling of a number as E.164", () => {
  for (
    const input of ["+1 (415) 555-0100", "+14155550100", "+1.415.555.0100", " +1 415 555 0100 "]
  ) {
    assert.equal(normalizePhone(input), "+14155550100", input);
  }
  assert.equal(normalizePhone("+44 20 7946 0000"), "+442079460000");
});

Deno.test("normalizePhone() - refuses what is not a phone number", () => {
  for (
    const input of [
      "4155550100",
      "+1415",
      "+1 415 555 010a",
      "",
      "+",
      "++14155550100",
      "+0123456789",
    ]
  ) {
    assert.equal(normalizePhone(input), null, input);
  }
});

Deno.test("normalizeEmail() - trims and lower-cases, refuses non-addresses", () => {
  assert.equal(normalizeEmail(" Ada@Example.COM "), "ada@example.com");
  assert.equal(normalizeEmail("ada"), null);
  assert.equal(normalizeEmail(`${"a".repeat(250)}@x.io`), null);
});
