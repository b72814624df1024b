// What the CLI prints: JSON for --json, aligned columns for people, progress on stderr.
import { describeNextAction } from '../common/lifecycle';
import type { Environment } from '../common/model';

export const print = (json: boolean, value: unknown, human: () => string): void => {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human());
};

/** Progress lines only where a person (a terminal) or HANGAR_PROGRESS asks for them. */
export const progress = (msg: string): void => {
  if (process.stderr.isTTY || process.env.HANGAR_PROGRESS) process.stderr.write(msg + '\n');
};

/** Rows of text as aligned columns (the first row is the header). */
export function columns(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(w[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function envTable(envs: Environment[]): string {
  return columns([
    ['NAME', 'STATUS', 'TYPE', 'MODE', 'BACKEND', 'IMAGE', 'GPUS', 'NEXT'],
    ...envs.map((e) => [
      e.name,
      e.status,
      e.environment_type,
      e.deployment_mode,
      e.backend_id,
      e.image,
      e.gpu_mode === 'none' ? '-' : `${e.gpu_count} ${e.gpu_mode}`,
      // The lifecycle's next automatic action: "stop in 12 min (idle 30 min)".
      e.next_action && e.next_action.action !== 'none' ? describeNextAction(e.next_action) : '-',
    ]),
  ]);
}
