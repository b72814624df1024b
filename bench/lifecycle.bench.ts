// Start-on-connect, side by side in one run: `ssh` to a stopped on_demand env until the first command's output, vs.
// an explicit `hangar start` then the same `ssh` (goal: ≤ 1.05×). Rounds alternate, so drift hits both alike.
import { figure } from './figures';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { sshAlias } from '../common/names';
import { Cli } from '../test/helpers/cli';
import { startDaemon } from '../test/helpers/daemon';
import { SSH_IMAGE } from '../test/helpers/docker';
import { tmpDir } from '../test/helpers/tmp';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<void> {
  const d = await startDaemon();
  const cli = new Cli(d.url);
  await cli.login(d.token);
  const name = `bench-od-${Date.now().toString(36)}`;
  const env = await d.admin.createEnvironment({
    name,
    image: SSH_IMAGE,
    image_pull_policy: 'never',
    environment_type: 'terminal',
    lifecycle_policy: 'on_demand',
  });
  await d.admin.waitFor(env.id, ['running']);
  const file = path.join(tmpDir('hangar-bench-'), 'ssh_config');
  const w = await cli.run(['ssh-config', '--write', file]);
  if (w.code !== 0) throw new Error(w.stderr);
  const cliEnv = { ...process.env, HANGAR_CONFIG_DIR: cli.configDir, HANGAR_URL: '', HANGAR_TOKEN: '' };
  const ssh = async () => {
    const { stdout } = await run('ssh', ['-F', file, '-o', 'BatchMode=yes', sshAlias(d.url, name), 'echo ok'], {
      env: cliEnv,
      timeout: 120_000,
    });
    if (stdout.trim() !== 'ok') throw new Error(`ssh printed ${stdout}`);
  };
  const onConnect: number[] = [];
  const explicit: number[] = [];
  try {
    await ssh(); // warm: the proxy's first run, the pinned host key
    for (let i = 0; i < ROUNDS; i++) {
      await d.admin.action(env.id, 'stop');
      let t0 = process.hrtime.bigint();
      await ssh();
      onConnect.push(ms(t0));
      await d.admin.action(env.id, 'stop');
      t0 = process.hrtime.bigint();
      const r = await cli.run(['start', name]);
      if (r.code !== 0) throw new Error(r.stderr);
      await ssh();
      explicit.push(ms(t0));
    }
  } finally {
    await d.admin.deleteEnvironment(env.id).catch(() => undefined);
    await d.close();
  }
  const a = median(onConnect);
  const b = median(explicit);
  console.log(`start-on-connect (ssh to a stopped on_demand env → first output): median ${a.toFixed(0)} ms`);
  console.log(`explicit (hangar start, then ssh → first output):                 median ${b.toFixed(0)} ms`);
  figure({
    figure: `start-on-connect vs hangar start then ssh (${ROUNDS} rounds)`,
    hangar: a,
    floor: b,
    unit: 'ms',
    goal: 1.05,
    goal_on: 'ratio',
    cmp: '<=',
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
