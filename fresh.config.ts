/**
 * Page and island settings, following Fresh's conventions: pages live in `routes/`, islands
 * in `islands/` and are hydrated in the browser; static files are served from `static/`,
 * and the browser bundle is written to `static/build/`. The islands runtime (web/) reads
 * this file: `deno task build` bundles exactly these islands, and only pages that render one
 * of them ship JavaScript.
 */
export interface FreshConfig {
  /** Island modules, relative to the project root. */
  islands: string[];
  /** Files served as-is under `/static/`. */
  staticDir: string;
  /** Where `deno task build` writes the hashed browser bundle. */
  buildDir: string;
}

const config: FreshConfig = {
  islands: [
    "islands/LiveOverview.tsx",
    "islands/UsersTable.tsx",
    "islands/UserDetail.tsx",
    "islands/EventFeed.tsx",
    "islands/SettingsForm.tsx",
    "islands/DeliveryLog.tsx",
    "islands/FraudPanel.tsx",
    "islands/WebhookStatus.tsx",
    "islands/AuditLog.tsx",
    "islands/ApiKeysPanel.tsx",
    "islands/SigningKeysPanel.tsx",
  ],
  staticDir: "./static",
  buildDir: "./static/build",
};

export default config;
