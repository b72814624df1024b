// Side by side, in one run: create → SSH-ready for a VM through Hangar vs. by hand with `virsh create` of the same
// domain XML (same template, same kind of overlay and cloud-init seed, same user-mode forward), waiting for the
// env's sshd banner on the forwarded port. Both boot under TCG here, so the guest's boot dominates both.
import { figure } from './figures';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateEd25519 } from '../common/sshkeys';
import { buildSeedIso } from '../daemon/backends/libvirt/cloudInit';
import { renderDomainXml } from '../daemon/backends/libvirt/domainXml';
import { INIT_PATH } from '../daemon/contract';
import { bootFiles } from '../daemon/environments/bootFiles';
import { startDaemon } from '../test/helpers/daemon';
import { tmpDir } from '../test/helpers/tmp';
import { LIBVIRT_CONFIG, POOL, POOL_DIR } from '../test/helpers/libvirt';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TEMPLATE = 'bench-debian12';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const virsh = (...args: string[]) =>
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('data', (b) => done(b.toString().startsWith('SSH-')));
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

async function main(): Promise<void> {
  const dir = execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
  const d = await startDaemon({ configYaml: LIBVIRT_CONFIG });
  await d.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
  await d.admin.importTemplate('kvm', {
    name: TEMPLATE,
    os: 'debian-12',
    default_user: 'debian',
    firmware: 'direct-kernel',
    cmdline: meta.cmdline,
    disk: { file: path.join(dir, 'disk.qcow2') },
    kernel: { file: path.join(dir, meta.kernel) },
    initrd: { file: path.join(dir, meta.initrd) },
  });
  const hangar: number[] = [];
  const byHand: number[] = [];
  const work = tmpDir('hangar-vm-bench-');
  try {
    for (let i = 0; i < ROUNDS; i++) {
      let t0 = Date.now();
      const env = await d.admin.createEnvironment({
        name: `vmb-${i}`,
        deployment_mode: 'vm',
        backend_id: 'kvm',
        image: TEMPLATE,
        environment_type: 'terminal',
      });
      const ready = await d.admin.waitFor(env.id, ['running', 'failed'], { timeoutMs: 900_000 });
      if (ready.status !== 'running') throw new Error(ready.status_message ?? 'failed');
      hangar.push(Date.now() - t0);
      await d.admin.deleteEnvironment(env.id);
      await d.server.envs.idle();

      // By hand: overlay, seed, the same XML renderer's output, `virsh create` (transient), wait for the banner.
      t0 = Date.now();
      const name = `hangar-bench-raw-${i}`;
      const overlay = path.join(POOL_DIR, `${name}.qcow2`);
      const seedFile = path.join(POOL_DIR, `${name}-seed.qcow2`);
      execFileSync('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-b',
        path.join(POOL_DIR, `hangar-tmpl-${TEMPLATE}.qcow2`),
        '-F',
        'qcow2',
        overlay,
      ]);
      const host = generateEd25519('raw');
      const files = bootFiles({
        user: 'hangar',
        authorizedKeys: '',
        hostPrivateKey: host.privateKey,
        hostPublicKey: host.publicKey,
        envVars: {},
        jupyterToken: null,
        jupyterBaseUrl: '/',
        volumeDirs: [],
        sshPort: 2222,
      });
      const seed = await buildSeedIso({ instanceId: name, hostname: name, files, command: ['/bin/sh', INIT_PATH] });
      fs.copyFileSync(seed.file, seedFile);
      await seed.cleanup();
      execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'pool-refresh', POOL]);
      const port = 22290 + i;
      const xml = renderDomainXml({
        name,
        title: name,
        virtType: 'qemu',
        vcpus: 1,
        memoryMb: 768,
        pool: POOL,
        disk: `${name}.qcow2`,
        seed: `${name}-seed.qcow2`,
        dataDisks: [],
        boot: {
          kind: 'direct-kernel',
          kernel: path.join(POOL_DIR, `hangar-tmpl-${TEMPLATE}.vmlinuz`),
          initrd: path.join(POOL_DIR, `hangar-tmpl-${TEMPLATE}.initrd`),
          cmdline: meta.cmdline,
        },
        network: 'user',
        restrictNetwork: true,
        forwardAddress: '127.0.0.1',
        consoleLog: path.join(POOL_DIR, `${name}-console.log`),
        graphics: null,
        pciHostdevs: [],
        mdevHostdevs: [],
        meta: {
          envId: name,
          envName: name,
          owner: '-',
          gateway: '-',
          backend: '-',
          template: TEMPLATE,
          forwards: [{ guest: 2222, host: port }],
          vncPort: null,
          mdevs: [],
        },
      });
      fs.writeFileSync(path.join(work, 'raw.xml'), xml);
      virsh('create', path.join(work, 'raw.xml'));
      while (!(await banner(port))) await new Promise((r) => setTimeout(r, 250));
      byHand.push(Date.now() - t0);
      virsh('destroy', name);
      for (const f of [overlay, seedFile, path.join(POOL_DIR, `${name}-console.log`)]) fs.rmSync(f, { force: true });
    }
  } finally {
    await d.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
    await d.close();
  }
  console.log(
    `VM create→SSH-ready (TCG): hangar median ${(median(hangar) / 1000).toFixed(1)} s [${hangar.map((x) => (x / 1000).toFixed(1)).join(', ')}], virsh create by hand median ${(median(byHand) / 1000).toFixed(1)} s [${byHand.map((x) => (x / 1000).toFixed(1)).join(', ')}] (${ROUNDS} rounds)`,
  );
  figure({
    figure: 'VM create→SSH-ready (TCG) vs virsh create of the same domain by hand',
    hangar: median(hangar),
    floor: median(byHand),
    unit: 'ms',
    goal: 1.1,
    goal_on: 'ratio',
    cmp: '<=',
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
