// Waiting: one sleep, one poll-until-deadline loop for every "ask again until it's so, or time's up".
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PollOptions {
  timeoutMs: number;
  /** Delay between checks; with `factor`, the first delay, growing by it up to `maxMs`. */
  intervalMs: number;
  factor?: number;
  maxMs?: number;
}

/** Calls `check` until it returns a value (not undefined) or the deadline passes (then undefined). A check that
 *  throws ends the wait with its error. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, o: PollOptions): Promise<T | undefined> {
  const deadline = Date.now() + o.timeoutMs;
  let delay = o.intervalMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(delay);
    if (o.factor) delay = Math.min(delay * o.factor, o.maxMs ?? Infinity);
  }
  return undefined;
}
