// Rows already read, by id at their row version (environments: migration 019), so a reader that sees a row's
// version unchanged takes it from memory instead of reading and decoding it again. Kept values are frozen, so no
// caller can change what the next one reads; past `max` the least recently read go first.
export class VersionedRows<V> {
  private readonly rows = new Map<string, { version: number; value: V }>();
  constructor(private readonly max = 20_000) {}

  /** The value as read at `version`; undefined when the row changed since (or was never read). */
  get(id: string, version: number): V | undefined {
    const r = this.rows.get(id);
    if (r?.version !== version) return undefined;
    this.rows.delete(id);
    this.rows.set(id, r);
    return r.value;
  }

  put(id: string, version: number, value: V): V {
    const kept = { version, value: deepFreeze(value) };
    this.rows.delete(id);
    this.rows.set(id, kept);
    if (this.rows.size > this.max) this.rows.delete(this.rows.keys().next().value!);
    return kept.value;
  }

  get size(): number {
    return this.rows.size;
  }
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
