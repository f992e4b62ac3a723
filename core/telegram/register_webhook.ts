/**
 * `deno task telegram:webhook`: registers `PUBLIC_URL/telegram/webhook` with Telegram, with
 * `TELEGRAM_WEBHOOK_SECRET` as the secret token Telegram sends back on every update.
 */
import { Api } from "grammy/web";
import { ConfigError, loadConfig } from "../config.ts";

if (import.meta.main) {
  try {
    const config = loadConfig(Deno.env.toObject());
    const { botToken, webhookSecret, apiRoot } = config.telegram;
    if (!botToken || !webhookSecret) {
      throw new ConfigError(["TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET are both needed"]);
    }
    if (!config.publicUrl.startsWith("https://")) {
      throw new ConfigError(["PUBLIC_URL must be https: Telegram only calls https webhooks"]);
    }
    const url = `${config.publicUrl}/telegram/webhook`;
    const api = new Api(botToken, { apiRoot });
    await api.setWebhook(url, { secret_token: webhookSecret, allowed_updates: ["message"] });
    const info = await api.getWebhookInfo();
    console.log(`Webhook registered: ${info.url} (pending updates: ${info.pending_update_count})`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
