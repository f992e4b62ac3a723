import type { Locale } from "./types.ts";

// Indonesian has no plural forms; the reader is addressed as "Anda".
export default {
  tag: "id",
  name: "Bahasa Indonesia",
  dir: "ltr",
  minutes: { other: "{n} menit" },
  seconds: { other: "{n} detik" },
  sms:
    "{app}: kode masuk Anda adalah {code}. Berlaku {lifetime}. Jangan berikan kode ini kepada siapa pun.",
  expires: "Kode berlaku selama {lifetime}.",
  doNotShare: "Jangan berikan kode ini kepada siapa pun.",
  neverAsks: "{app} tidak akan pernah memintanya.",
  greeting: "Halo, {name}!",
  email: {
    subject: "Kode masuk {app}: {code}",
    heading: "Kode masuk Anda",
    intro: "Masukkan kode ini untuk masuk ke {app}:",
    ignore:
      "Jika Anda tidak meminta kode ini, abaikan saja email ini: tanpa kode ini, tidak ada yang bisa masuk.",
    footer: "Anda menerima email ini karena alamat ini digunakan untuk masuk ke {app}.",
  },
  telegram: {
    heading: "Kode masuk {app} Anda:",
    copyHint: "Ketuk kode untuk menyalinnya.",
    selfDelete: "Pesan ini akan terhapus otomatis dalam {lifetime}.",
  },
  contactChanged: {
    subject: "{app}: akun Anda telah diubah",
    phone: "Nomor telepon akun {app} Anda telah diubah menjadi {contact}.",
    email: "Alamat email akun {app} Anda telah diubah menjadi {contact}.",
    notYou: "Jika ini bukan Anda, segera hubungi dukungan {app}.",
  },
} satisfies Locale;
