import type { Locale } from "./types.ts";

// Lifetimes are in the accusative, as they read after "діє" and "через":
// 1 хвилину, 2 хвилини, 5 хвилин, 21 хвилину.
export default {
  tag: "uk",
  name: "Українська",
  dir: "ltr",
  minutes: { one: "{n} хвилину", few: "{n} хвилини", many: "{n} хвилин", other: "{n} хвилини" },
  seconds: { one: "{n} секунду", few: "{n} секунди", many: "{n} секунд", other: "{n} секунди" },
  sms: "{app}: код {code}. Діє {lifetime}. Нікому не повідомляйте цей код.",
  expires: "Код діє {lifetime}.",
  doNotShare: "Нікому не повідомляйте цей код.",
  neverAsks: "{app} ніколи не попросить його у вас.",
  greeting: "Вітаємо, {name}!",
  email: {
    subject: "Код для входу в {app}: {code}",
    heading: "Ваш код для входу",
    intro: "Введіть цей код, щоб увійти в {app}:",
    ignore:
      "Якщо ви не запитували код, просто проігноруйте цей лист: без коду ніхто не зможе увійти.",
    footer: "Ви отримали цей лист, тому що цю адресу вказали під час входу в {app}.",
  },
  telegram: {
    heading: "Ваш код для входу в {app}:",
    copyHint: "Натисніть на код, щоб скопіювати його.",
    selfDelete: "Повідомлення видалиться через {lifetime}.",
  },
  contactChanged: {
    subject: "{app}: дані вашого акаунта змінено",
    phone: "Номер телефону вашого акаунта {app} змінено на {contact}.",
    email: "Адресу електронної пошти вашого акаунта {app} змінено на {contact}.",
    notYou: "Якщо це були не ви, негайно зверніться до підтримки {app}.",
  },
} satisfies Locale;
