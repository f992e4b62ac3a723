/** One commit as KV received it: what it set, by key, with its `expireIn`. */
export type Commit = { key: Deno.KvKey; value: unknown; expireIn?: number }[];

/**
 * Records what every successful commit of `kv` sets, in order. Patched on the instance (KV
 * keeps its state in private fields, so a Proxy could not call it), before any wrapper binds it.
 */
export function recordCommits(kv: Deno.Kv): Commit[] {
  const commits: Commit[] = [];
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    const sets: Commit = [];
    const set = op.set.bind(op);
    const commit = op.commit.bind(op);
    op.set = (key, value, options) => {
      sets.push({ key, value, expireIn: options?.expireIn });
      return set(key, value, options);
    };
    op.commit = async () => {
      const result = await commit();
      if (result.ok) commits.push(sets);
      return result;
    };
    return op;
  };
  return commits;
}

/** The sets of a commit under `collection`. */
export function setsIn(commit: Commit, collection: string): Commit {
  return commit.filter((set) => set.key[0] === collection);
}
