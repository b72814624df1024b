// `hangar gpus` and `hangar backends`: what the gateway's backends have and whether they answer.
import type { Command } from 'commander';
import { datasetApi } from '../../common/datasetsClient';
import type { GpuInfo, JumpServerStatus } from '../../common/model';
import type { CliContext } from '../context';
import { columns, print } from '../output';

export function inventoryCommands(program: Command, ctx: CliContext): void {
  program
    .command('gpus')
    .description('GPU inventory: models, memory, free units and who holds each')
    .option('--backend <id>')
    .option('--model <m>')
    .option('--free', 'only GPUs with a free unit')
    .option('--refresh', 're-read the hosts first')
    .action(async (o: { backend?: string; model?: string; free?: boolean; refresh?: boolean }) => {
      const c = ctx.client();
      if (o.refresh) await c.request('POST', '/api/v1/gpus/refresh');
      const q = new URLSearchParams();
      if (o.backend) q.set('backend', o.backend);
      if (o.model) q.set('model', o.model);
      if (o.free) q.set('free', 'true');
      const gs = await c.request<GpuInfo[]>('GET', `/api/v1/gpus?${q}`);
      print(ctx.json(), gs, () =>
        columns([
          ['BACKEND', 'NODE', 'ID', 'MODEL', 'MEMORY', 'FREE', 'HELD BY'],
          ...gs.map((x) => [
            x.backend_id,
            x.node,
            x.id,
            x.model,
            x.memory_mb ? `${Math.round(x.memory_mb / 1024)} GiB` : '-',
            x.present ? (x.health === 'ok' ? `${x.free}/${x.capacity}` : `unhealthy`) : 'gone',
            x.holders.map((h) => `${h.env_name} (${h.mode})`).join(', ') || '-',
          ]),
        ]),
      );
    });

  program
    .command('backends')
    .description('backends and their reachability')
    .action(async () => {
      const c = ctx.client();
      const [bs, js, stores] = await Promise.all([
        c.backends(),
        c.jumpserver().catch(() => undefined),
        datasetApi.stores(c).catch(() => []),
      ]);
      // --json stays the backends array (scripts read it); `hangar jumpserver --json` gives JumpServer's status.
      print(
        ctx.json(),
        bs,
        () =>
          bs
            .map(
              (b) =>
                `${b.id}  ${b.kind}  ${b.available ? 'up ' + (b.version ?? '') : 'DOWN ' + (b.error ?? '')}${b.default ? '  (default)' : ''}\n`,
            )
            .join('') +
          (js?.configured ? jumpserverLine(js) : '') +
          stores.map((st) => `store ${st.name}  s3  ${st.ok ? 'up' : 'DOWN ' + (st.problem ?? '')}\n`).join(''),
      );
    });

  program
    .command('jumpserver')
    .description('whether JumpServer is configured, answers, and as whom')
    .action(async () => {
      const js = await ctx.client().jumpserver();
      print(ctx.json(), js, () => (js.configured ? jumpserverLine(js) : 'jumpserver  not configured\n'));
    });
}

/** `jumpserver  <url>  up as <user> (org …)` or DOWN with the reason. */
export function jumpserverLine(js: JumpServerStatus): string {
  const state = js.available ? `up as ${js.as}` : `DOWN ${js.error ?? ''}`;
  const koko = js.koko ? `  koko ${js.koko.host}:${js.koko.port}` : '';
  return `jumpserver  ${js.url}  ${state}  (org ${js.org_id})${koko}${js.required ? '  (required)' : ''}\n`;
}
