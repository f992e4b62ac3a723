import assert from "node:assert/strict";
import {
  formatRecipient,
  maskRecipient,
  normalizeEmail,
  normalizePhone,
  parseRecipient,
  type Recipient,
} from "../../core/auth/recipients.ts";

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

Deno.test("recipients - formatRecipient() and parseRecipient() round-trip every kind", () => {
  const all: Recipient[] = [
    { kind: "phone", value: "+14155550100" },
    { kind: "email", value: "ada@example.com" },
    { kind: "telegram", value: "123456789" },
    { kind: "start", value: "tok_abc:def" },
  ];
  for (const recipient of all) {
    assert.deepEqual(parseRecipient(formatRecipient(recipient)), recipient);
  }
  assert.equal(formatRecipient(all[0]), "phone:+14155550100");
  assert.throws(() => parseRecipient("fax:+14155550100"), /Cannot parse recipient key/);
  assert.throws(() => parseRecipient("no-colon"), /Cannot parse recipient key/);
});

Deno.test("recipients - maskRecipient() hides the middle of phones and emails", () => {
  assert.equal(maskRecipient({ kind: "phone", value: "+14155550100" }), "+1415•••0100");
  assert.equal(maskRecipient({ kind: "email", value: "ada@example.com" }), "a•••@example.com");
  assert.equal(maskRecipient({ kind: "telegram", value: "42" }), "•••");
});
