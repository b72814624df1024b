/** Retries `fn` until it resolves or `ms` pass (services inside a fresh environment come up after sshd). */
export async function retry<T>(fn: () => Promise<T>, ms = 60_000, every = 500): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, every));
    }
  }
}
