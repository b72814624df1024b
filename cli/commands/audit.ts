// `hangar audit`: the gateway's audit trail (admins): filter, page, export as JSON lines or CSV. `hangar sessions`:
// an env's JumpServer sessions and commands, the trail's other half for use_jumpserver envs.
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { columns, print } from '../output';

interface AuditOpts {
  user?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
  all?: boolean;
  csv?: boolean;
  jsonl?: boolean;
}

export function auditCommands(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('the audit trail (admin): who did what to which target, from where, with what result')
    .option('--user <name>')
    .option('--action <action>', 'e.g. environment.start, or environment.*')
    .option('--target <id>')
    .option('--since <time>', 'ISO 8601 time')
    .option('--until <time>', 'ISO 8601 time')
    .option('--limit <n>', 'entries a page (default 200)')
    .option('--cursor <c>', 'start after this cursor (printed as next_cursor)')
    .option('--all', 'follow the cursor to the oldest entry')
    .option('--csv', 'CSV export')
    .option('--jsonl', 'JSON lines export')
    .action(async (o: AuditOpts) => {
      const c = ctx.client();
      const q = {
        user: o.user,
        action: o.action,
        target: o.target,
        since: o.since,
        until: o.until,
        limit: o.limit === undefined ? undefined : Number(o.limit),
      };
      let cursor = o.cursor;
      if (o.csv || o.jsonl) {
        for (let first = true; first || (o.all && cursor); first = false) {
          const r = await c.auditText({ ...q, cursor }, o.csv ? 'csv' : 'jsonl');
          // CSV: one header for the whole export.
          process.stdout.write(first || !o.csv ? r.text : r.text.slice(r.text.indexOf('\n') + 1));
          cursor = r.next_cursor ?? undefined;
        }
        return;
      }
      const page = await c.audit({ ...q, cursor });
      const entries = [...page.entries];
      for (let next = page.next_cursor; o.all && next;) {
        const p = await c.audit({ ...q, cursor: next });
        entries.push(...p.entries);
        next = p.next_cursor;
      }
      print(
        ctx.json(),
        o.all ? { entries, next_cursor: null } : page,
        () =>
          columns([
            ['TIME', 'USER', 'ACTION', 'TARGET', 'RESULT', 'CLIENT', 'ADDRESS'],
            ...entries.map((e) => [
              e.at,
              e.user ?? '-',
              e.action,
              e.target ?? '-',
              e.result ?? '-',
              e.client ?? '-',
              e.address ?? '-',
            ]),
          ]) + (!o.all && page.next_cursor ? `next_cursor: ${page.next_cursor}\n` : ''),
      );
    });

  program
    .command('sessions <env>')
    .description("the env's JumpServer sessions and their commands (use_jumpserver envs), with replay links")
    .action(async (env: string) => {
      const c = ctx.client();
      const list = await c.request<JmsSessionOut[]>('GET', `/api/v1/environments/${encodeURIComponent(env)}/sessions`);
      print(ctx.json(), list, () =>
        list
          .map(
            (x) =>
              `${x.date_start ?? '-'}  ${x.user ?? '-'}  ${x.account ?? '-'}@${x.asset ?? '-'}  ${x.is_finished ? 'finished' : 'open'}` +
              (x.replay_url ? `  replay ${x.replay_url}` : '') +
              '\n' +
              x.commands.map((k) => `    $ ${k.input}\n`).join(''),
          )
          .join(''),
      );
    });
}

interface JmsSessionOut {
  date_start?: string;
  user?: string;
  account?: string;
  asset?: string;
  is_finished?: boolean;
  replay_url: string | null;
  commands: { input: string }[];
}
