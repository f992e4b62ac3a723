/** What a per-IP counter counts. */
export type IpCounterKind = "requests" | "failures";

/** What a number range's counter counts: SMS sent, and codes sent by SMS that were used. */
export type SmsRangeCounterKind = "sent" | "verified";

/**
 * Every Deno KV key Doorman uses. Collections are snake_case; secondary indexes are their
 * own collections. A key literal anywhere else is a bug.
 */
export const keys = {
  user: (id: string) => ["users", id] as const,
  users: () => ["users"] as const,
  userByPhone: (phone: string) => ["users_by_phone", phone] as const,
  userByEmail: (email: string) => ["users_by_email", email] as const,
  userByTelegram: (telegramId: bigint) => ["users_by_telegram", telegramId] as const,
  /** Suspensions that end by themselves, keyed by when: the sweep reads only the due ones. */
  suspensionEnd: (endsAt: number, userId: string) => ["suspension_ends", endsAt, userId] as const,
  suspensionEnds: () => ["suspension_ends"] as const,
  /**
   * The user ids who may see a user's presence when their visibility is `contacts` (one
   * record, at most 1,000 ids).
   */
  presenceContacts: (userId: string) => ["presence_contacts", userId] as const,
  /**
   * An account erasure in progress: written in the commit that removes the user record, and
   * deleted when the last record about the user is gone, so a crash halfway resumes.
   */
  userDeletion: (userId: string) => ["user_deletions", userId] as const,
  userDeletions: () => ["user_deletions"] as const,

  otpRequest: (id: string) => ["otp_requests", id] as const,
  /** A recipient's live request, hourly window and resend cooldown, in one record. */
  otpRecipient: (recipient: string) => ["otp_recipients", recipient] as const,

  refreshToken: (hash: string) => ["refresh_tokens", hash] as const,
  // Sessions were "refresh families" once: the stored collections keep those names, so data
  // written before the rename is read as it is.
  session: (id: string) => ["refresh_families", id] as const,
  sessionsByUser: (userId: string) => ["families_by_user", userId] as const,
  sessionOfUser: (userId: string, familyId: string) =>
    ["families_by_user", userId, familyId] as const,
  /**
   * When a sign-in was last used between refreshes (ms; written at most once a minute per
   * sign-in and instance, expiring with the sign-in).
   */
  sessionUsed: (familyId: string) => ["family_used", familyId] as const,

  /**
   * What one client IP did in one 10-minute bucket (`KvU64`, summed): `requests` are code
   * requests, `failures` wrong codes.
   */
  ipCounter: (kind: IpCounterKind, bucket: number, ip: string) =>
    ["ip_counters", kind, bucket, ip] as const,
  ipCounters: (kind: IpCounterKind) => ["ip_counters", kind] as const,
  ipCountersBefore: (kind: IpCounterKind, bucket: number) => ["ip_counters", kind, bucket] as const,

  /** Last activity of a user (ms, `KvU64`, only ever raised with `max`). */
  presenceSeen: (userId: string) => ["presence_seen", userId] as const,
  /** Last HTTP heartbeat or sign-in of a user (ms, `KvU64`, raised with `max`). */
  presenceHeartbeat: (userId: string) => ["presence_heartbeat", userId] as const,
  /** The last presence transition recorded for a user. */
  presenceState: (userId: string) => ["presence_state", userId] as const,
  /** Users recorded online (the admin list's "online" filter; moved only by transitions). */
  presenceOnline: (userId: string) => ["presence_online", userId] as const,
  presenceOnlineAll: () => ["presence_online"] as const,
  /**
   * Users recorded online by the minute their silence runs out (rounded up): the sweep reads
   * only the minutes that passed, so its cost follows the users whose time ran out.
   */
  presenceDue: (minute: number, userId: string) => ["presence_due", minute, userId] as const,
  presenceDueAll: () => ["presence_due"] as const,
  presenceDueBefore: (minute: number) => ["presence_due", minute] as const,
  /** The minute a user's `presence_due` entry is filed under, to move it on activity. */
  presenceDueOf: (userId: string) => ["presence_due_of", userId] as const,
  /** One open WebSocket of a user, on some instance. */
  presenceSocket: (userId: string, socketId: string) =>
    ["presence_sockets", userId, socketId] as const,
  presenceSocketsOf: (userId: string) => ["presence_sockets", userId] as const,
  /** How many users are recorded online (`KvU64`, moved only by transitions). */
  onlineCount: () => ["counters", "online"] as const,
  /** How many users exist (`KvU64`, raised in the commit that creates each user). */
  userCount: () => ["counters", "users"] as const,

  /** One per-minute counter (`KvU64`, summed); `minute` is the minute's start in ms. */
  stat: (minute: number, metric: string) => ["stats", minute, metric] as const,
  /** Every counter of one minute; also the bound of a range of minutes. */
  statMinute: (minute: number) => ["stats", minute] as const,
  stats: () => ["stats"] as const,
  /** One per-hour counter (`KvU64`, summed with its minute's); `hour` is the hour's start in ms. */
  statHour: (hour: number, metric: string) => ["stats_hourly", hour, metric] as const,
  /** Every counter of one hour; also the bound of a range of hours. */
  statHourStart: (hour: number) => ["stats_hourly", hour] as const,
  statsHourly: () => ["stats_hourly"] as const,

  /** The event log SSE clients resume from and the dashboard lists (kept 24 h). */
  event: (id: string) => ["events", id] as const,
  /**
   * Each instance's events in the order they committed (its group committer numbers them):
   * what other instances tail, reading each event once.
   */
  instanceEvent: (instance: string, position: number) =>
    ["instance_events", instance, position] as const,
  instanceEvents: (instance: string) => ["instance_events", instance] as const,
  /** A running instance, refreshed while it runs (the tail finds the others here). */
  instance: (id: string) => ["instances", id] as const,
  instances: () => ["instances"] as const,
  events: () => ["events"] as const,
  /** A copy of each logged event that names a user, under that user (kept as long: 24 h). */
  userEvent: (userId: string, eventId: string) => ["events_by_user", userId, eventId] as const,
  userEvents: (userId: string) => ["events_by_user", userId] as const,

  /** Telegram: which chat a phone is linked to, and which phone a chat shared. */
  telegramLinkByPhone: (phone: string) => ["telegram_links_by_phone", phone] as const,
  telegramLinkByChat: (chatId: bigint) => ["telegram_links_by_chat", chatId] as const,
  /** Update ids already processed (a repeated update is processed once). */
  telegramUpdate: (updateId: number) => ["telegram_updates", updateId] as const,
  /** Deep-link tokens (`/start <token>`) and the request each continues. */
  telegramStart: (token: string) => ["telegram_starts", token] as const,
  /** The request a chat was asked to share its phone number for. */
  telegramPending: (chatId: bigint) => ["telegram_pending", chatId] as const,
  /** Code messages to delete, keyed by due time so the sweep reads only what is due. */
  telegramDelete: (dueAt: number, chatId: bigint, messageId: number) =>
    ["telegram_deletes", dueAt, chatId, messageId] as const,
  telegramDeletes: () => ["telegram_deletes"] as const,

  /**
   * SMS sent to (and codes used by) one number range in one 10-minute bucket (`KvU64`,
   * summed): what the range's hourly cap and its automatic block read.
   */
  smsRangeCount: (prefix: string, bucket: number, kind: SmsRangeCounterKind) =>
    ["sms_ranges", prefix, bucket, kind] as const,
  smsRange: (prefix: string) => ["sms_ranges", prefix] as const,
  smsRangeFrom: (prefix: string, bucket: number) => ["sms_ranges", prefix, bucket] as const,
  smsRanges: () => ["sms_ranges"] as const,
  /** SMS sent on one UTC day (`KvU64`, summed); `day` is the day's start in ms. */
  smsDay: (day: number) => ["sms_days", day] as const,
  smsDays: () => ["sms_days"] as const,
  /** A number range blocked for SMS (or lifted by an admin), until its record expires. */
  smsBlock: (prefix: string) => ["sms_blocks", prefix] as const,
  smsBlocks: () => ["sms_blocks"] as const,
  /**
   * Wrong codes sent for one test recipient on one UTC day (`KvU64`, summed); `day` is the
   * day's start in ms and comes first, so old days are one range to prune.
   */
  testRecipientFailures: (day: number, recipient: string) =>
    ["test_recipient_failures", day, recipient] as const,
  testRecipientFailuresBefore: (day: number) => ["test_recipient_failures", day] as const,
  testRecipientFailuresAll: () => ["test_recipient_failures"] as const,
  /** Written once per UTC day by the instance that finds the SMS budget spent first. */
  smsBudgetNotice: (day: number) => ["sms_budget_notices", day] as const,

  /** Every delivery attempt (kept 7 days); ids are ULIDs, so the list is in time order. */
  delivery: (id: string) => ["deliveries", id] as const,
  deliveries: () => ["deliveries"] as const,
  /** A delivery by its provider's id (Twilio SID, Gateway request id), for status reports. */
  deliveryByProvider: (provider: string, providerId: string) =>
    ["deliveries_by_provider", provider, providerId] as const,
  /** How a request's code went out: its delivery, provider id, SMS range, Telegram message. */
  otpDelivery: (requestId: string) => ["otp_deliveries", requestId] as const,

  /** What admins changed, who and from where (ids are ULIDs: time order). */
  audit: (id: string) => ["audit", id] as const,
  audits: () => ["audit"] as const,

  /**
   * Events waiting to go out to the event webhook, keyed by when each is next due (a lease
   * moves it forward): the sweep reads only what is due.
   */
  webhookOutbox: (dueAt: number, eventId: string) => ["webhook_outbox", dueAt, eventId] as const,
  webhookOutboxAll: () => ["webhook_outbox"] as const,
  webhookOutboxBefore: (dueAt: number) => ["webhook_outbox", dueAt] as const,
  /** Events in the outbox (`KvU64`, summed as they enter and leave it). */
  webhookPending: () => ["counters", "webhook_pending"] as const,
  /** Events delivered or given up in one hour (`KvU64`, summed); `hour` is its start in ms. */
  webhookCount: (hour: number, outcome: "delivered" | "failed") =>
    ["webhook_counts", hour, outcome] as const,
  webhookCountsFrom: (hour: number) => ["webhook_counts", hour] as const,
  webhookCounts: () => ["webhook_counts"] as const,
  /** The last delivery that succeeded, and the last that failed. */
  webhookLast: (outcome: "success" | "error") => ["webhook_last", outcome] as const,

  /** Dashboard sessions (cookie), stored under the hash of the cookie value. */
  dashboardSession: (hash: string) => ["web_sessions", hash] as const,
  /** `deno task demo`'s one-time dashboard links, under the hash of their token. */
  demoLink: (hash: string) => ["demo_links", hash] as const,
  /** Single-use tickets that open a presence WebSocket, under the hash of the ticket. */
  socketTicket: (hash: string) => ["socket_tickets", hash] as const,

  /** Server API keys by id (the record), and by the hash of their secret (the id). */
  apiKey: (id: string) => ["api_keys", id] as const,
  apiKeys: () => ["api_keys"] as const,
  apiKeyByHash: (hash: string) => ["api_keys_by_hash", hash] as const,
  /** When an API key was last used (ms; written at most once a minute per key and instance). */
  apiKeyUsed: (id: string) => ["api_key_used", id] as const,

  settings: () => ["settings", "current"] as const,
  secret: (name: "jwt_secret") => ["secrets", name] as const,
  /** The whole ring of access-token signing keys in one record, so a rotation is one commit. */
  signingKeys: () => ["signing_keys", "ring"] as const,
};
