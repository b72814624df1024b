// Datasets, side by side in one run: 1 GiB (BENCH_DATASET_MIB) uploaded and downloaded through the gateway (the
// client library the CLI and extension use: resumable multipart, 4 parts in flight) vs. the S3 client straight to the
// store (lib-storage, the same part size and parallelism), goal ≥ 0.9× the direct throughput; and reading the dataset
// mounted in a Docker env (s3fs on the host, bound in) vs. downloading it through the gateway (reported, no goal).
// Prints one JSON line per figure: {"figure","hangar","floor","ratio","goal","met"} (throughputs in MiB/s).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { datasetApi, downloadFile, PART_BYTES, uploadFile } from '../common/datasetsClient';
import { spawnDaemon } from '../test/helpers/daemon';
import { docker, SSH_IMAGE } from '../test/helpers/docker';
import { ensureS3Server, S3_CREDENTIALS_FILE, S3_ENDPOINT, testStore, uniqueBucket } from '../test/helpers/s3';
import { tmpDir } from '../test/helpers/tmp';

const MIB = Number(process.env.BENCH_DATASET_MIB ?? 1024);
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const rate = (s: number) => MIB / s;

/** CPU seconds of a process so far (utime + stime; /proc counts in 1/100 s). */
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Where a transfer's CPU went: this process (the client), the gateway, the store. */
function cpuAccount(pids: { gateway: number; store: number }) {
  const t = () => ({ client: process.cpuUsage(), gateway: cpuOf(pids.gateway), store: cpuOf(pids.store) });
  const a = t();
  return () => {
    const b = t();
    const client = (b.client.user + b.client.system - a.client.user - a.client.system) / 1e6;
    return { client, gateway: b.gateway - a.gateway, store: b.store - a.store };
  };
}

function line(figure: string, hangar: number, floor: number, goal: number | null): void {
  const ratio = hangar / floor;
  const r = (x: number) => Math.round(x * 100) / 100;
  const met = goal === null ? null : ratio >= goal;
  console.log(JSON.stringify({ figure, hangar: r(hangar), floor: r(floor), ratio: r(ratio), goal, met }));
}

async function main(): Promise<void> {
  ensureS3Server();
  const work = tmpDir('hangar-bench-ds-');
  const file = path.join(work, 'big.bin');
  // Random bytes (nothing compresses), written once in 16 MiB blocks.
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < MIB / 16; i++) fs.writeSync(fd, crypto.randomBytes(16 * 1024 * 1024));
  fs.closeSync(fd);
  const bucket = uniqueBucket('hangar-bench');
  // The gateway as its own process (as users run it), so client and daemon don't share one event loop.
  const dataDir = tmpDir('hangard-bench-ds-');
  fs.writeFileSync(
    path.join(dataDir, 'hangar.yaml'),
    `object_stores:\n  - {name: s3, endpoint: '${S3_ENDPOINT}', credentials: {file: ${S3_CREDENTIALS_FILE}}}\n`,
  );
  const d = await spawnDaemon(dataDir, ['--config', path.join(dataDir, 'hangar.yaml')]);
  const store = testStore();
  let envId: string | undefined;
  try {
    const ds = await datasetApi.create(d.admin, { name: 'bench', store: 's3', bucket });
    // Upload: direct, gateway, gateway, direct (ABBA: the same file, page cache warm for all; the store's writes
    // of one side don't land on the other's clock more than the other way round).
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const uploads = { direct: [] as number[], gateway: [] as number[] };
    const storePid = Number(execFileSync('pgrep', ['-o', 'versitygw'], { encoding: 'utf8' }).trim());
    const pids = { gateway: d.proc.pid!, store: storePid };
    const cpu: Record<string, Record<string, number>> = {};
    const tally = (what: string, used: Record<string, number>) => {
      cpu[what] ??= {};
      for (const [k, v] of Object.entries(used)) cpu[what][k] = (cpu[what][k] ?? 0) + v / 2;
    };
    let t0 = process.hrtime.bigint();
    for (const side of ['direct', 'gateway', 'gateway', 'direct'] as const) {
      const used = cpuAccount(pids);
      t0 = process.hrtime.bigint();
      if (side === 'direct')
        await new Upload({
          client: store.client,
          params: { Bucket: bucket, Key: `direct/big.bin`, Body: fs.createReadStream(file) },
          partSize: PART_BYTES,
          queueSize: 4,
        }).done();
      else await uploadFile(d.admin, ds.id, file, 'big.bin');
      uploads[side].push(secs(t0));
      tally(`upload ${side}`, used());
      execFileSync('sync');
    }
    line(
      `upload ${MIB} MiB through the gateway vs. S3 client direct (MiB/s, mean of 2 each, ABBA)`,
      rate(mean(uploads.gateway)),
      rate(mean(uploads.direct)),
      0.9,
    );

    // Download: direct, gateway, gateway, direct (ABBA), each file removed and flushed before the next, so neither
    // side gets the store's page cache first or pays for the other's dirty pages being written back.
    const downloads = { direct: [] as number[], gateway: [] as number[] };
    for (const side of ['direct', 'gateway', 'gateway', 'direct'] as const) {
      const out = path.join(work, `${side}.bin`);
      const used = cpuAccount(pids);
      t0 = process.hrtime.bigint();
      if (side === 'direct') {
        const got = await store.client.send(new GetObjectCommand({ Bucket: bucket, Key: `${ds.prefix}/big.bin` }));
        await pipeline(got.Body as Readable, fs.createWriteStream(out));
      } else await downloadFile(d.admin, ds.id, 'big.bin', out);
      downloads[side].push(secs(t0));
      tally(`download ${side}`, used());
      fs.rmSync(out);
      execFileSync('sync');
    }
    const downGateway = mean(downloads.gateway);
    for (const [what, c] of Object.entries(cpu))
      console.log(
        `CPU s per ${MIB} MiB, ${what}: ${Object.entries(c)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ')}`,
      );
    line(
      `download ${MIB} MiB through the gateway vs. S3 client direct (MiB/s, mean of 2 each, ABBA)`,
      rate(downGateway),
      rate(mean(downloads.direct)),
      0.9,
    );

    const env = await d.admin.createEnvironment({
      name: `bench-ds-${Date.now().toString(36)}`,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      storage_type: 's3',
      storage_config: { mounts: [{ type: 'dataset', source: 'bench', target: '/data', read_only: true }] },
    });
    envId = env.id;
    const running = await d.admin.waitFor(env.id, ['running', 'failed']);
    if (running.status !== 'running') throw new Error(`env failed: ${running.status_message}`);
    t0 = process.hrtime.bigint();
    await docker('exec', running.backend_ref!, '/bin/sh', '-c', 'cat /data/big.bin > /dev/null');
    const mounted = secs(t0);
    line(
      `read ${MIB} MiB from the mounted dataset vs. downloading it through the gateway (MiB/s)`,
      rate(mounted),
      rate(downGateway),
      null,
    );
  } catch (err) {
    // The daemon's own account of it (a child process: its log is not ours).
    console.error(d.output().split('\n').slice(-15).join('\n'));
    throw err;
  } finally {
    if (envId) {
      await d.admin.deleteEnvironment(envId).catch(() => undefined);
      for (let i = 0; i < 100 && (await d.admin.listEnvironments()).length; i++)
        await new Promise((r) => setTimeout(r, 200));
    }
    for (const x of await datasetApi.list(d.admin)) await datasetApi.remove(d.admin, x.id, true).catch(() => undefined);
    await store.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'direct/big.bin' }));
    await store.client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    await d.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
