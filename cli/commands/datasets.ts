// `hangar datasets ls|create|rm|upload|download|sync`: datasets on the gateway's object stores, transfers through the
// gateway (no S3 credentials needed) with progress in bytes and rate; big uploads resume after a cut connection.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { datasetApi, downloadFile, filesUnder, uploadFile, type Progress } from '../../common/datasetsClient';
import type { CliContext } from '../context';
import { configDir } from '../credentials';
import { columns, print } from '../output';

const MiB = 1024 * 1024;
export const human = (n: number) =>
  n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(2)} GiB` : n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} B`;

/** Progress on stderr (a terminal: one line rewritten; otherwise nothing until the end). */
function progressLine(): { on: (p: Progress) => void; end: () => void } {
  let last = 0;
  return {
    on: (p) => {
      if (!process.stderr.isTTY || Date.now() - last < 200) return;
      last = Date.now();
      process.stderr.write(`\r${human(p.bytes)} / ${human(p.total)}  ${human(p.rate)}/s   `);
    },
    end: () => process.stderr.isTTY && process.stderr.write('\n'),
  };
}

/** Ctrl-C cancels the transfer; a multipart upload's state stays, so the same command resumes it. */
function cancellable(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  return ac.signal;
}

export function datasetCommands(program: Command, ctx: CliContext): void {
  const d = program.command('datasets').description("datasets on the gateway's object stores (yours and your team's)");
  d.command('ls', { isDefault: true })
    .description('list them, with size, objects and the environments that mount them')
    .action(async () => {
      const xs = await datasetApi.list(ctx.client());
      print(ctx.json(), xs, () =>
        columns([
          ['NAME', 'OWNER', 'STORE', 'LOCATION', 'SIZE', 'OBJECTS', 'UPDATED', 'MOUNTED BY'],
          ...xs.map((x) => [
            x.name,
            x.team ? `team:${x.team}` : (x.owner_id ?? '-'),
            x.store,
            `${x.bucket}/${x.prefix}`,
            human(x.size_bytes),
            String(x.object_count),
            x.updated_at,
            x.mounted_by.map((e) => e.name).join(',') || '-',
          ]),
        ]),
      );
    });
  d.command('create <name>')
    .description('make a dataset: a bucket (made when missing) and a prefix on a store')
    .requiredOption('--store <name>', 'object store (hangar backends lists them)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--prefix <prefix>', 'prefix in the bucket (default: <you>/<name>)')
    .option('--description <text>', 'what it holds')
    .option('--tag <tag...>', 'tags')
    .option('--team', "your team's, not yours")
    .action(
      async (
        name: string,
        o: { store: string; bucket: string; prefix?: string; description?: string; tag?: string[]; team?: boolean },
      ) => {
        const x = await datasetApi.create(ctx.client(), {
          name,
          store: o.store,
          bucket: o.bucket,
          ...(o.prefix ? { prefix: o.prefix } : {}),
          ...(o.description ? { description: o.description } : {}),
          ...(o.tag ? { tags: o.tag } : {}),
          ...(o.team ? { team: true as const } : {}),
        });
        print(ctx.json(), x, () => `${x.name} ${x.id} ${x.bucket}/${x.prefix}\n`);
      },
    );
  d.command('rm <dataset>')
    .description('forget a dataset (refused while an environment mounts it)')
    .option('--delete-objects', 'also delete its objects in the store')
    .action(async (ref: string, o: { deleteObjects?: boolean }) => {
      await datasetApi.remove(ctx.client(), ref, Boolean(o.deleteObjects));
    });
  d.command('upload <dataset> <path>')
    .description('upload a file or a folder (resumes a cut upload of the same file)')
    .option('--key <key>', 'object key (a file) or key prefix (a folder); default: the file name / nothing')
    .action(async (ref: string, local: string, o: { key?: string }) => {
      const c = ctx.client();
      const files = fs.statSync(local).isDirectory()
        ? filesUnder(local, o.key ?? '')
        : ([[local, o.key ?? path.basename(local)]] as [string, string][]);
      const bar = progressLine();
      const signal = cancellable();
      const stateDir = path.join(configDir(), 'uploads');
      const t0 = Date.now();
      let total = 0;
      for (const [file, key] of files) {
        const obj = await uploadFile(c, ref, file, key, { signal, stateDir, onProgress: bar.on });
        total += obj.size;
      }
      bar.end();
      const s = (Date.now() - t0) / 1000;
      print(
        ctx.json(),
        { files: files.length, bytes: total, seconds: s },
        () =>
          `uploaded ${files.length} file(s), ${human(total)} in ${s.toFixed(1)} s (${human(total / Math.max(s, 1e-3))}/s)\n`,
      );
    });
  d.command('download <dataset> <dest>')
    .description('download an object (--key) or everything under a prefix into a folder')
    .option('--key <key>', 'one object')
    .option('--prefix <prefix>', 'objects under this prefix (default: all)')
    .action(async (ref: string, dest: string, o: { key?: string; prefix?: string }) => {
      const c = ctx.client();
      const bar = progressLine();
      const signal = cancellable();
      const t0 = Date.now();
      const objs = o.key ? [{ key: o.key, size: 0 }] : await datasetApi.objects(c, ref, o.prefix);
      let total = 0;
      for (const x of objs) {
        const to =
          o.key && !(fs.existsSync(dest) && fs.statSync(dest).isDirectory())
            ? dest
            : path.join(dest, ...x.key.split('/'));
        await downloadFile(c, ref, x.key, to, { signal, onProgress: bar.on });
        total += fs.statSync(to).size;
      }
      bar.end();
      const s = (Date.now() - t0) / 1000;
      print(
        ctx.json(),
        { files: objs.length, bytes: total, seconds: s },
        () =>
          `downloaded ${objs.length} file(s), ${human(total)} in ${s.toFixed(1)} s (${human(total / Math.max(s, 1e-3))}/s)\n`,
      );
    });
  d.command('sync <env>')
    .description(
      "copy a running env's read-write datasets back to the store now (Kubernetes: they are copies; also done at stop)",
    )
    .action(async (env: string) => {
      const r = await ctx.client().syncDatasets(env);
      print(ctx.json(), r, () =>
        r.datasets
          .map((x) => `${x.ok ? 'synced' : 'FAILED'}  ${x.source} (${x.target})${x.message ? `: ${x.message}` : ''}\n`)
          .join(''),
      );
      if (r.datasets.some((x) => !x.ok)) process.exitCode = 1;
    });
}
