/** A stored event: its id orders the log; `instance` says which process wrote it. */
export interface StoredEvent {
  id: string;
  instance: string;
  /** `presence`, `otp`, `user`, `channel`, …: the SSE event name. */
  kind: string;
  data: { type: string; at: string } & Record<string, unknown>;
}
