// hangar-agent vs the image's own sshd, side by side in one run on the same image (hangar-test/ssh has both):
// create → first successful `ssh true` through the gateway's tunnel, and scp of 256 MiB up through the tunnel.
// Also the agent's size (stripped, static) and its start time (exec → listening) on this machine.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateEd25519 } from '../common/sshkeys';
import { Cli } from '../test/helpers/cli';
import { startDaemon } from '../test/helpers/daemon';
import { SSH_IMAGE } from '../test/helpers/docker';
import { tmpDir } from '../test/helpers/tmp';
import { AGENT_BINARY, OpenSsh } from '../test/agent/openssh';

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function agentStartMs(): Promise<number> {
  const dir = tmpDir('agent-bench-');
  const key = generateEd25519('bench');
  fs.writeFileSync(path.join(dir, 'host'), key.privateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'keys'), key.publicKey + '\n');
  const user = process.env.USER === 'root' || !process.env.USER ? 'nobody' : process.env.USER;
  fs.writeFileSync(
    path.join(dir, 'agent.json'),
    JSON.stringify({
      user,
      listen: '127.0.0.1:0',
      host_key: path.join(dir, 'host'),
      authorized_keys: path.join(dir, 'keys'),
      status_file: path.join(dir, 's.json'),
    }),
  );
  fs.chmodSync(dir, 0o755);
  const t0 = performance.now();
  const p = spawn(AGENT_BINARY, ['serve', '--config', path.join(dir, 'agent.json')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    p.stderr!.on('data', (b: Buffer) => /serving SSH/.test(b.toString()) && resolve());
    p.once('exit', (c) => reject(new Error(`agent exited ${c}`)));
  });
  const ms = performance.now() - t0;
  p.kill();
  return ms;
}

async function main() {
  const d = await startDaemon();
  const cli = new Cli(d.url);
  await cli.login(d.token);
  const ssh = new OpenSsh(cli, d.url);
  await ssh.configure();
  const blob = path.join(tmpDir('agent-bench-'), 'blob');
  fs.writeFileSync(blob, crypto.randomBytes(256 << 20));
  const ready: Record<string, number[]> = { agent: [], image: [] };
  const scp: Record<string, number[]> = { agent: [], image: [] };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const server of ['agent', 'image'] as const) {
        const name = `agbench-${server}-${Date.now().toString(36)}`;
        const t0 = performance.now();
        const env = await d.admin.createEnvironment({
          name,
          image: SSH_IMAGE,
          image_pull_policy: 'never',
          environment_type: 'terminal',
          ssh_server: server,
        });
        for (;;) {
          if ((await ssh.ssh(name, 'true')).code === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        ready[server].push(performance.now() - t0);
        const t1 = performance.now();
        const r = await ssh.run('scp', ['-q', blob, `${ssh.alias(name)}:/tmp/blob`]);
        if (r.code !== 0) throw new Error(`scp (${server}): ${r.err}`);
        scp[server].push(performance.now() - t1);
        await d.admin.deleteEnvironment(env.id);
      }
    }
  } finally {
    await d.close();
  }
  const size = fs.statSync(AGENT_BINARY).size;
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) starts.push(await agentStartMs());
  const mb = (ms: number) => (256 / (ms / 1000)).toFixed(0);
  console.log(
    `create → SSH ready (median of ${ROUNDS}): agent ${median(ready.agent).toFixed(0)} ms, image sshd ${median(ready.image).toFixed(0)} ms, ratio agent/sshd ${(median(ready.agent) / median(ready.image)).toFixed(2)}`,
  );
  console.log(
    `scp 256 MiB up through the tunnel: agent ${median(scp.agent).toFixed(0)} ms (${mb(median(scp.agent))} MiB/s), image sshd ${median(scp.image).toFixed(0)} ms (${mb(median(scp.image))} MiB/s), ratio agent/sshd ${(median(scp.agent) / median(scp.image)).toFixed(2)}`,
  );
  console.log(
    `hangar-agent linux/amd64: ${(size / 2 ** 20).toFixed(2)} MiB stripped, static; exec → listening median ${median(starts).toFixed(1)} ms`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
