// Side-by-side, in one run: (1) create → SSH-ready through Hangar vs. raw `docker run` of the same image + waiting
// for sshd; (2) scp of 256 MiB through the gateway tunnel vs. straight to the env's published port.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateEd25519 } from '../common/sshkeys';
import { bootFiles } from '../daemon/environments/bootFiles';
import { Cli } from '../test/helpers/cli';
import { startDaemon } from '../test/helpers/daemon';
import { DOCKER, SSH_IMAGE } from '../test/helpers/docker';
import { tmpDir } from '../test/helpers/tmp';
import { figure } from './figures';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MIB = Number(process.env.BENCH_SCP_MIB ?? 256);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function until(fn: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const d = await startDaemon();
  const cli = new Cli(d.url);
  await cli.login(d.token);
  const keyFile = path.join(cli.configDir, 'id_ed25519');
  const work = tmpDir('hangar-bench-');

  // Raw docker: the same image and the same sshd set-up, files bind-mounted instead of copied in.
  const host = generateEd25519('raw');
  const rawDir = path.join(work, 'raw');
  for (const f of bootFiles({
    user: 'hangar',
    authorizedKeys: fs.readFileSync(keyFile + '.pub', 'utf8'),
    hostPrivateKey: host.privateKey,
    hostPublicKey: host.publicKey,
    envVars: {},
    jupyterToken: null,
    jupyterBaseUrl: '/',
    volumeDirs: [],
  })) {
    const p = path.join(rawDir, f.path);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.content, { mode: f.mode });
  }
  const rawSsh = (port: string, ...cmd: string[]) =>
    run('ssh', [
      '-i',
      keyFile,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'BatchMode=yes',
      '-p',
      port,
      'hangar@127.0.0.1',
      ...cmd,
    ]);

  // Hangar's path is the one VS Code's Remote-SSH takes: plain ssh with the gateway's wildcard Host block
  // (ProxyCommand `hangar proxy`, which pins the env's host key before ssh checks it).
  const wildcard = path.join(work, 'wildcard_config');
  fs.writeFileSync(wildcard, (await cli.run(['ssh-config'])).stdout);
  const slug = /^Host (hangar\.\S+--)\*/m.exec(fs.readFileSync(wildcard, 'utf8'))![1];
  const hangarSsh = (name: string) =>
    run('ssh', ['-F', wildcard, '-o', 'BatchMode=yes', `${slug}${name}`, 'true'], {
      env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir },
    });

  const hangarTimes: number[] = [];
  const rawTimes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Hangar: API create → first command over SSH through the tunnel.
    let t0 = process.hrtime.bigint();
    const r = await cli.run(['create', `bench-${i}`, '--image', SSH_IMAGE, '--pull', 'never', '--type', 'terminal']);
    if (r.code !== 0) throw new Error(r.stderr);
    await until(() => hangarSsh(`bench-${i}`));
    hangarTimes.push(ms(t0));
    await cli.run(['rm', `bench-${i}`]);

    // Raw: docker run → first command over SSH to the published port.
    t0 = process.hrtime.bigint();
    const id = (
      await run(DOCKER, [
        'run',
        '-d',
        '--init',
        '-p',
        '127.0.0.1::22',
        '-v',
        `${path.join(rawDir, '.hangar')}:/.hangar`,
        '--entrypoint',
        '/bin/sh',
        SSH_IMAGE,
        '/.hangar/init.sh',
      ])
    ).stdout.trim();
    const port = (await run(DOCKER, ['port', id, '22/tcp'])).stdout.trim().split(':').pop()!;
    await until(() => rawSsh(port, 'true'));
    rawTimes.push(ms(t0));
    await run(DOCKER, ['rm', '-f', id]);
  }

  // Throughput: one env, port 22 also published on 127.0.0.1 for the direct path.
  const r = await cli.run([
    '--json',
    'create',
    'bench-scp',
    '--image',
    SSH_IMAGE,
    '--pull',
    'never',
    '--type',
    'terminal',
    '-p',
    '22',
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  const env = JSON.parse(r.stdout);
  const port = (await run(DOCKER, ['port', env.backend_ref, '22/tcp'])).stdout.trim().split(':').pop()!;
  const blob = path.join(work, 'blob');
  execFileSync('dd', ['if=/dev/urandom', `of=${blob}`, 'bs=1M', `count=${MIB}`], { stdio: 'ignore' });
  const conn = await d.admin.connection('bench-scp');
  const cfgFile = path.join(work, 'ssh_config');
  fs.writeFileSync(cfgFile, (await cli.run(['ssh-config', 'bench-scp'])).stdout);
  const scpTunnel = () =>
    run('scp', ['-q', '-F', cfgFile, blob, `${conn.ssh.host_alias}:/tmp/blob`], {
      env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir },
    });
  const scpDirect = () =>
    run('scp', [
      '-q',
      '-i',
      keyFile,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-P',
      port,
      blob,
      'hangar@127.0.0.1:/tmp/blob',
    ]);
  const tunnelMBs: number[] = [];
  const directMBs: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t0 = process.hrtime.bigint();
    await scpTunnel();
    tunnelMBs.push(MIB / (ms(t0) / 1000));
    t0 = process.hrtime.bigint();
    await scpDirect();
    directMBs.push(MIB / (ms(t0) / 1000));
  }
  await cli.run(['rm', 'bench-scp']);
  await d.close();

  console.log(
    `create→SSH-ready: hangar median ${median(hangarTimes).toFixed(0)} ms, raw docker run median ${median(rawTimes).toFixed(0)} ms (${ROUNDS} rounds)`,
  );
  figure({
    figure: 'create→SSH-ready on Docker vs raw docker run + sshd',
    hangar: median(hangarTimes),
    floor: median(rawTimes),
    unit: 'ms',
    goal: 1.1,
    goal_on: 'ratio',
    cmp: '<=',
  });
  console.log(
    `scp ${MIB} MiB: tunnel median ${median(tunnelMBs).toFixed(1)} MiB/s, direct median ${median(directMBs).toFixed(1)} MiB/s (3 rounds)`,
  );
  figure({
    figure: `scp ${MIB} MiB through the tunnel vs direct to the published port`,
    hangar: median(tunnelMBs),
    floor: median(directMBs),
    unit: 'MiB/s',
    goal: 0.9,
    goal_on: 'ratio',
    cmp: '>=',
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
