import { shortId } from "./lib/format.ts";

/** A user id, shortened, linking to the user's page; the whole id is in the tooltip. */
export function UserLink({ id }: { id: string }) {
  return (
    <a
      class="user-link mono"
      href={`/admin/users/${encodeURIComponent(id)}`}
      title={id}
      data-user-id={id}
    >
      {shortId(id)}
    </a>
  );
}
