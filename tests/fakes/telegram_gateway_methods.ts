/**
 * The methods of the fake Telegram Gateway API (core.telegram.org/gateway/api), on plain state:
 * who is on Telegram, the balance, every request and what was sent. The server around them is
 * `telegram_gateway.ts`.
 */

/** A RequestStatus object, as the Gateway writes it. */
export interface RequestStatusJson {
  request_id: string;
  phone_number: string;
  request_cost: number;
  is_refunded?: boolean;
  remaining_balance?: number;
  delivery_status?: { status: string; updated_at: number };
  verification_status?: { status: string; updated_at: number; code_entered?: string };
  payload?: string;
}

/** One verification message the Gateway "sent". */
export interface GatewaySentMessage {
  requestId: string;
  phone: string;
  code: string;
  ttl?: number;
  payload?: string;
  callbackUrl?: string;
  /** Whether the send used a request id from checkSendAbility. */
  checked: boolean;
  at: number;
}

/** A request the fake keeps: its public status and what only the Gateway knows. */
export interface GatewayRequest {
  status: RequestStatusJson;
  message?: GatewaySentMessage;
  attempts: number;
}

/** The Gateway's `{ ok: false, error }`, with the HTTP status the fake answers it with. */
export class GatewayFailure extends Error {
  constructor(readonly error: string, readonly status = 400) {
    super(error);
  }
}

/** What the methods work on. */
export interface GatewayState {
  phonesOnTelegram: Set<string>;
  /** The account owner's number: checks and sends to it are free. */
  ownPhone: string | null;
  balance: number;
  /** Cost of one message. */
  price: number;
  requests: Map<string, GatewayRequest>;
  messages: GatewaySentMessage[];
}

/** Wrong codes a request takes before it stops checking them. */
const MAX_ATTEMPTS = 5;

type Params = Record<string, string>;

/** The methods by lower-cased name (the Gateway's names are case-insensitive). */
export function gatewayMethods(
  state: GatewayState,
  onSent: (request: GatewayRequest) => void,
): Record<string, (params: Params) => unknown> {
  const now = () => Math.floor(Date.now() / 1000);

  function reachable(raw: string | undefined): { phone: string; cost: number } {
    if (!raw || !/^\+?[1-9]\d{7,14}$/.test(raw)) throw new GatewayFailure("PHONE_NUMBER_INVALID");
    const phone = raw.startsWith("+") ? raw : `+${raw}`;
    const own = phone === state.ownPhone;
    if (!own && !state.phonesOnTelegram.has(phone)) {
      throw new GatewayFailure("PHONE_NUMBER_NOT_FOUND");
    }
    return { phone, cost: own ? 0 : state.price };
  }

  function charge(status: RequestStatusJson, cost: number): void {
    if (state.balance < cost) throw new GatewayFailure("BALANCE_NOT_ENOUGH");
    status.request_cost += cost;
    if (cost > 0) {
      state.balance = Math.round((state.balance - cost) * 1e6) / 1e6;
      status.remaining_balance = state.balance;
    }
  }

  function requestOf(params: Params): GatewayRequest {
    if (!params.request_id) throw new GatewayFailure("REQUEST_ID_REQUIRED");
    const request = state.requests.get(params.request_id);
    if (!request) throw new GatewayFailure("REQUEST_ID_INVALID");
    return request;
  }

  /** What the answer shows: no `remaining_balance` unless this call charged. */
  function answer(request: GatewayRequest, charged: boolean): RequestStatusJson {
    const copy = structuredClone(request.status);
    if (!charged) delete copy.remaining_balance;
    return copy;
  }

  return {
    checksendability(params) {
      const { phone, cost } = reachable(params.phone_number);
      const status: RequestStatusJson = {
        request_id: newRequestId(),
        phone_number: phone,
        request_cost: 0,
      };
      charge(status, cost);
      state.requests.set(status.request_id, { status, attempts: 0 });
      return answer(state.requests.get(status.request_id)!, cost > 0);
    },
    sendverificationmessage(params) {
      const { phone, cost } = reachable(params.phone_number);
      const code = codeOf(params);
      const ttl = ttlOf(params.ttl);
      if (params.payload !== undefined && bytes(params.payload) > 128) {
        throw new GatewayFailure("PAYLOAD_INVALID");
      }
      const callbackUrl = params.callback_url || undefined;
      if (callbackUrl !== undefined && !callbackAllowed(callbackUrl)) {
        throw new GatewayFailure("CALLBACK_URL_INVALID");
      }
      let request: GatewayRequest;
      let charged = false;
      if (params.request_id) {
        // One free send per checked request; the phone must be the one checked.
        const checked = state.requests.get(params.request_id);
        if (!checked || checked.message || checked.status.phone_number !== phone) {
          throw new GatewayFailure("REQUEST_ID_INVALID");
        }
        request = checked;
      } else {
        const status = { request_id: newRequestId(), phone_number: phone, request_cost: 0 };
        charge(status, cost);
        charged = cost > 0;
        request = { status, attempts: 0 };
        state.requests.set(status.request_id, request);
      }
      const message: GatewaySentMessage = {
        requestId: request.status.request_id,
        phone,
        code,
        checked: params.request_id !== undefined && params.request_id !== "",
        at: Date.now(),
      };
      if (ttl !== undefined) message.ttl = ttl;
      if (params.payload !== undefined) message.payload = params.payload;
      if (callbackUrl !== undefined) message.callbackUrl = callbackUrl;
      request.message = message;
      request.status.delivery_status = { status: "sent", updated_at: now() };
      if (params.payload !== undefined) request.status.payload = params.payload;
      state.messages.push(message);
      onSent(request);
      return answer(request, charged);
    },
    checkverificationstatus(params) {
      const request = requestOf(params);
      const message = request.message;
      if (params.code !== undefined && message) {
        const expired = message.ttl !== undefined && Date.now() > message.at + message.ttl * 1000;
        let status: string;
        if (expired) status = "expired";
        else if (request.attempts >= MAX_ATTEMPTS) status = "code_max_attempts_exceeded";
        else if (params.code === message.code) status = "code_valid";
        else {
          request.attempts++;
          status = "code_invalid";
        }
        request.status.verification_status = {
          status,
          updated_at: now(),
          code_entered: params.code,
        };
      }
      return answer(request, false);
    },
    revokeverificationmessage(params) {
      const request = requestOf(params);
      const delivery = request.status.delivery_status;
      // A message already delivered or read stays.
      if (delivery?.status === "sent") {
        delivery.status = "revoked";
        delivery.updated_at = now();
      }
      return true;
    },
  };
}

function codeOf(params: Params): string {
  if (params.code !== undefined) {
    if (!/^\d{4,8}$/.test(params.code)) throw new GatewayFailure("CODE_INVALID");
    return params.code;
  }
  if (params.code_length === undefined) throw new GatewayFailure("CODE_LENGTH_REQUIRED");
  const length = Number(params.code_length);
  if (!Number.isInteger(length) || length < 4 || length > 8) {
    throw new GatewayFailure("CODE_LENGTH_INVALID");
  }
  const digits = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(digits, (d) => String(d % 10)).join("");
}

function ttlOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ttl = Number(raw);
  if (!Number.isInteger(ttl) || ttl < 30 || ttl > 3600) throw new GatewayFailure("TTL_INVALID");
  return ttl;
}

/** HTTPS, at most 256 bytes; plain HTTP only to loopback, where tests listen. */
function callbackAllowed(raw: string): boolean {
  if (bytes(raw) > 256) return false;
  try {
    const url = new URL(raw);
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}

function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}
