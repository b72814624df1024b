// Side by side in one run, on a hangard of its own (a child process, so its memory is its own):
//  1. GET /api/v1/environments?limit=100 (pages along the cursors) with 10,000 envs at 200 req/s, p99, while
//     another connection updates WRITES rows a second (as activity and status changes do), next to GET /healthz at
//     the same rate (the HTTP floor), in alternating 5 s phases;
//  2. the daemon's RSS idle and with 10,000 envs, next to a bare `node` idling (the runtime's floor).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { openDatabase } from '../daemon/store/db';
import { spawnDaemon } from '../test/helpers/daemon';
import { insertEnvRows } from '../test/helpers/envRows';
import { tmpDir } from '../test/helpers/tmp';
import { figure } from './figures';

const ENVS = Number(process.env.BENCH_ENVS ?? 10_000);
const RATE = 200;
const PHASE_S = 5;
const WRITES = Number(process.env.BENCH_ENV_WRITES ?? 20);

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

/** One GET's latency; a kept-alive socket the server closed just then (ECONNRESET) is retried once, timed anew. */
function once(agent: http.Agent, url: string, token: string, retry = true): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      retry && err.code === 'ECONNRESET' ? once(agent, url, token, false).then(resolve, reject) : reject(err),
    );
  });
}

/** Open loop: one request every 1/RATE s whatever the answers do, for `secs`; latencies in ms. */
async function load(agent: http.Agent, base: string, token: string, paths: () => string, secs: number) {
  const lat: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < RATE * secs; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > performance.now()) await sleep(due - performance.now());
    pending.push(once(agent, `${base}${paths()}`, token).then((ms) => void lat.push(ms)));
  }
  await Promise.all(pending);
  return lat;
}

async function main(): Promise<void> {
  const dataDir = tmpDir('hangar-envlist-bench-');
  fs.writeFileSync(path.join(dataDir, 'hangar.yaml'), 'reconcile_interval_s: 3600\ngpu_refresh_interval_s: 3600\n');
  const d = await spawnDaemon(dataDir, ['--config', path.join(dataDir, 'hangar.yaml')]);
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(3000);
    const idle = rssMiB(d.proc.pid!);
    const floorRss = rssMiB(bare.pid!);
    const db = await openDatabase(dataDir);
    const ids = await insertEnvRows(db, (await d.admin.me()).id, ENVS, { prefix: 'bench' });
    // Rows change under the list: a random row's activity time, WRITES times a second, from a second connection.
    let writes = 0;
    const writer = setInterval(() => {
      const id = ids[Math.floor(Math.random() * ids.length)];
      void db
        .updateTable('environments')
        .set({ last_activity_at: new Date().toISOString() })
        .where('id', '=', id)
        .execute()
        .then(() => writes++);
    }, 1000 / WRITES);
    // The cursors of every page of 100, so requests spread over the whole list.
    const cursors: string[] = [''];
    for (let c: string | null = ''; ;) {
      const p = await d.admin.listEnvironmentsPage({ limit: '100', ...(c ? { cursor: c } : {}) });
      if (!p.next_cursor) break;
      cursors.push((c = p.next_cursor));
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    let k = 0;
    const listPath = () => {
      const c = cursors[k++ % cursors.length];
      return `/api/v1/environments?limit=100${c ? `&cursor=${c}` : ''}`;
    };
    const list: number[] = [];
    const health: number[] = [];
    await load(agent, d.url, d.token, listPath, 1); // warm-up
    for (let i = 0; i < 2; i++) {
      list.push(...(await load(agent, d.url, d.token, listPath, PHASE_S)));
      health.push(...(await load(agent, d.url, d.token, () => '/healthz', PHASE_S)));
    }
    clearInterval(writer);
    await db.destroy();
    const full = performance.now();
    const all = await d.admin.listEnvironments();
    const fullMs = performance.now() - full;
    const loaded = rssMiB(d.proc.pid!);
    agent.destroy();
    console.log(
      `GET /environments?limit=100 with ${all.length} envs at ${RATE} req/s: p99 ${p99(list).toFixed(1)} ms (${list.length} requests, ${writes} row updates meanwhile), /healthz p99 ${p99(health).toFixed(1)} ms; one unpaginated list ${fullMs.toFixed(0)} ms`,
    );
    figure({
      figure: `GET /api/v1/environments (limit=100) with ${ENVS} envs at ${RATE} req/s, ${WRITES} row updates/s, p99`,
      hangar: p99(list),
      floor: p99(health),
      unit: 'ms',
      goal: 50,
      goal_on: 'hangar',
      cmp: '<=',
    });
    figure({
      figure: 'daemon RSS idle',
      hangar: idle,
      floor: floorRss,
      unit: 'MiB',
      goal: 120,
      goal_on: 'hangar',
      cmp: '<=',
    });
    figure({
      figure: `daemon RSS with ${ENVS} envs (after the list load)`,
      hangar: loaded,
      floor: floorRss,
      unit: 'MiB',
      goal: 250,
      goal_on: 'hangar',
      cmp: '<=',
    });
  } finally {
    bare.kill();
    await d.kill('SIGTERM');
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
