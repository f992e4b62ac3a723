import { addConsumeRequest, type OtpRequest } from "./otp_requests.ts";
import { addOpenFamily, type RefreshFamily, type RefreshToken } from "./sessions.ts";
import { addSaveUser, type User } from "./users.ts";

/**
 * Completes a sign-in in one commit: the request is used up, the user is created or updated
 * (unique indexes checked) or at least confirmed unchanged, and a refresh family is opened.
 * Returns false when anything read before changed meanwhile: read again and decide anew.
 */
export async function commitSignIn(
  kv: Deno.Kv,
  options: {
    request: Deno.KvEntry<OtpRequest>;
    /** The user as read; `save` is what to write over it, if anything changed. */
    user: Deno.KvEntryMaybe<User>;
    save: User | null;
    family: RefreshFamily;
    tokenHash: string;
    token: RefreshToken;
  },
): Promise<boolean> {
  const op = kv.atomic();
  addConsumeRequest(op, options.request);
  if (options.save) addSaveUser(op, options.save, options.user);
  else op.check(options.user);
  addOpenFamily(op, options.family, options.tokenHash, options.token);
  return (await op.commit()).ok;
}

/** Uses up a request without signing in (a disabled account presented the right code). */
export async function consumeRequest(
  kv: Deno.Kv,
  request: Deno.KvEntry<OtpRequest>,
): Promise<boolean> {
  return (await addConsumeRequest(kv.atomic(), request).commit()).ok;
}
