import type { Locale } from "./types.ts";

// Brazilian Portuguese (pt-BR asks for `pt`), addressing the reader as "você". The app name
// goes without an article ("entrar em {app}"): its gender is unknown.
export default {
  tag: "pt",
  name: "Português",
  dir: "ltr",
  minutes: { one: "{n} minuto", other: "{n} minutos" },
  seconds: { one: "{n} segundo", other: "{n} segundos" },
  sms: "{app}: código {code}. Expira em {lifetime}. Não compartilhe com ninguém.",
  expires: "Expira em {lifetime}.",
  doNotShare: "Não compartilhe com ninguém.",
  neverAsks: "{app} nunca vai pedir este código a você.",
  greeting: "Olá, {name}!",
  email: {
    subject: "Código de acesso para {app}: {code}",
    heading: "Seu código de acesso",
    intro: "Use este código para entrar em {app}:",
    ignore:
      "Se você não pediu este código, pode ignorar este e-mail: ninguém consegue entrar sem ele.",
    footer: "Você recebeu este e-mail porque este endereço foi usado para entrar em {app}.",
  },
  telegram: {
    heading: "Seu código para entrar em {app}:",
    copyHint: "Toque no código para copiá-lo.",
    selfDelete: "Esta mensagem será apagada em {lifetime}.",
  },
  contactChanged: {
    subject: "{app}: sua conta foi alterada",
    phone: "O número de telefone da sua conta {app} foi alterado para {contact}.",
    email: "O e-mail da sua conta {app} foi alterado para {contact}.",
    notYou: "Se não foi você, fale com o suporte de {app} imediatamente.",
  },
} satisfies Locale;
