import type { Locale } from "./types.ts";

export default {
  tag: "en",
  name: "English",
  dir: "ltr",
  minutes: { one: "{n} minute", other: "{n} minutes" },
  seconds: { one: "{n} second", other: "{n} seconds" },
  sms: "{app}: your sign-in code is {code}. It expires in {lifetime}. Do not share it with anyone.",
  expires: "It expires in {lifetime}.",
  doNotShare: "Do not share it with anyone.",
  neverAsks: "{app} will never ask you for it.",
  greeting: "Hi {name},",
  email: {
    subject: "{app} sign-in code: {code}",
    heading: "Your sign-in code",
    intro: "Enter this code to sign in to {app}:",
    ignore:
      "If you did not ask for this code, you can ignore this email: no one can sign in without it.",
    footer: "You received this email because someone asked to sign in to {app} with this address.",
  },
  telegram: {
    heading: "Your {app} sign-in code:",
    copyHint: "Tap the code to copy it.",
    selfDelete: "This message deletes itself in {lifetime}.",
  },
  contactChanged: {
    subject: "{app}: your account was changed",
    phone: "The phone number of your {app} account was changed to {contact}.",
    email: "The email address of your {app} account was changed to {contact}.",
    notYou: "If you did not do this, contact {app} support at once.",
  },
} satisfies Locale;
