import type { Locale } from "./types.ts";

// Lifetimes are in the accusative, as they read after "действует" and "через":
// 1 минуту, 2 минуты, 5 минут, 21 минуту.
export default {
  tag: "ru",
  name: "Русский",
  dir: "ltr",
  minutes: { one: "{n} минуту", few: "{n} минуты", many: "{n} минут", other: "{n} минуты" },
  seconds: { one: "{n} секунду", few: "{n} секунды", many: "{n} секунд", other: "{n} секунды" },
  sms: "{app}: код {code}. Действует {lifetime}. Никому не сообщайте этот код.",
  expires: "Код действует {lifetime}.",
  doNotShare: "Никому не сообщайте этот код.",
  neverAsks: "{app} никогда не попросит его у вас.",
  greeting: "Здравствуйте, {name}!",
  email: {
    subject: "Код для входа в {app}: {code}",
    heading: "Ваш код для входа",
    intro: "Введите этот код, чтобы войти в {app}:",
    ignore:
      "Если вы не запрашивали код, просто проигнорируйте это письмо: без кода никто не сможет войти.",
    footer: "Вы получили это письмо, потому что этот адрес указали при входе в {app}.",
  },
  telegram: {
    heading: "Ваш код для входа в {app}:",
    copyHint: "Нажмите на код, чтобы скопировать его.",
    selfDelete: "Сообщение удалится через {lifetime}.",
  },
  contactChanged: {
    subject: "{app}: данные вашего аккаунта изменены",
    phone: "Номер телефона вашего аккаунта {app} изменён на {contact}.",
    email: "Адрес электронной почты вашего аккаунта {app} изменён на {contact}.",
    notYou: "Если это были не вы, сразу обратитесь в поддержку {app}.",
  },
} satisfies Locale;
