// withProgress with cancellation passed down as an AbortSignal; results are ok / cancelled / error.
import * as vscode from 'vscode';

export type ProgressResult<T> =
  { ok: true; value: T } | { ok: false; cancelled: true } | { ok: false; cancelled: false; error: unknown };

export async function withCancellableProgress<T>(
  title: string,
  fn: (signal: AbortSignal, report: (message: string) => void) => Promise<T>,
): Promise<ProgressResult<T>> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort(new vscode.CancellationError()));
      try {
        const value = await fn(ac.signal, (message) => progress.report({ message }));
        return { ok: true as const, value };
      } catch (error) {
        if (ac.signal.aborted) return { ok: false as const, cancelled: true as const };
        return { ok: false as const, cancelled: false as const, error };
      } finally {
        sub.dispose();
      }
    },
  );
}
