import type { Locale } from "./types.ts";

// Neutral Spanish for Spain and Latin America, addressing the reader as "tú".
export default {
  tag: "es",
  name: "Español",
  dir: "ltr",
  minutes: { one: "{n} minuto", other: "{n} minutos" },
  seconds: { one: "{n} segundo", other: "{n} segundos" },
  sms: "{app}: código {code}. Vence en {lifetime}. No lo compartas con nadie.",
  expires: "Vence en {lifetime}.",
  doNotShare: "No lo compartas con nadie.",
  neverAsks: "{app} nunca te lo pedirá.",
  greeting: "¡Hola, {name}!",
  email: {
    subject: "Código de acceso a {app}: {code}",
    heading: "Tu código de acceso",
    intro: "Usa este código para iniciar sesión en {app}:",
    ignore:
      "Si no solicitaste este código, puedes ignorar este correo: nadie puede iniciar sesión sin él.",
    footer: "Recibiste este correo porque alguien usó esta dirección para iniciar sesión en {app}.",
  },
  telegram: {
    heading: "Tu código de acceso a {app}:",
    copyHint: "Toca el código para copiarlo.",
    selfDelete: "Este mensaje se borrará en {lifetime}.",
  },
  contactChanged: {
    subject: "{app}: se modificó tu cuenta",
    phone: "El número de teléfono de tu cuenta de {app} se cambió a {contact}.",
    email: "El correo electrónico de tu cuenta de {app} se cambió a {contact}.",
    notYou: "Si no fuiste tú, contacta de inmediato con el soporte de {app}.",
  },
} satisfies Locale;
