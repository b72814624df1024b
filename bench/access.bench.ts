// Side by side in one run: VNC framebuffer throughput through the gateway's WebSocket bridge vs. straight to the
// published vnc_port, and Jupyter request latency through the gateway's proxy vs. straight to the container.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { openTunnel } from '../common/tunnel';
import { docker } from '../test/helpers/docker';
import { startDaemon } from '../test/helpers/daemon';
import { vncResponse } from '../test/helpers/rfb';
import { figure } from './figures';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Logs in, then asks for N full (non-incremental) frames in raw encoding; returns MiB/s. */
async function vncThroughput(s: Duplex, password: string, frames: number): Promise<number> {
  let buf = Buffer.alloc(0);
  let wake: () => void = () => undefined;
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    wake();
  });
  const read = async (n: number) => {
    while (buf.length < n)
      await new Promise<void>((r) => {
        wake = r;
      });
    const o = buf.subarray(0, n);
    buf = buf.subarray(n);
    return o;
  };
  await read(12);
  s.write('RFB 003.008\n');
  const n = (await read(1))[0];
  await read(n);
  s.write(Buffer.from([2]));
  s.write(vncResponse(await read(16), password));
  if ((await read(4)).readUInt32BE(0) !== 0) throw new Error('VNC auth failed');
  s.write(Buffer.from([1]));
  const init = await read(24);
  await read(init.readUInt32BE(20));
  const [w, h, bpp] = [init.readUInt16BE(0), init.readUInt16BE(2), init[4] / 8];
  s.write(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0])); // SetEncodings: raw only
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let f = 0; f < frames; f++) {
    const req = Buffer.alloc(10);
    req[0] = 3;
    req[1] = 0;
    req.writeUInt16BE(w, 6);
    req.writeUInt16BE(h, 8);
    s.write(req);
    const head = await read(4);
    for (let r = 0; r < head.readUInt16BE(2); r++) {
      const rect = await read(12);
      const len = rect.readUInt16BE(4) * rect.readUInt16BE(6) * bpp;
      await read(len);
      bytes += len;
    }
  }
  return bytes / 1048576 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function main(): Promise<void> {
  const d = await startDaemon();
  try {
    const desk = await d.admin.createEnvironment({
      name: 'bench-desk',
      image: 'hangar-test/desktop:latest',
      image_pull_policy: 'never',
      environment_type: 'desktop',
    });
    const nb = await d.admin.createEnvironment({
      name: 'bench-nb',
      image: 'hangar-test/jupyter:latest',
      image_pull_policy: 'never',
      environment_type: 'ide',
    });
    const env = await d.admin.waitFor(desk.id, ['running']);
    const jenv = await d.admin.waitFor(nb.id, ['running']);
    const { vnc } = await d.admin.connection(env.id);
    await new Promise((r) => setTimeout(r, 3000)); // Xvnc and Jupyter start after sshd
    const bridged: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ws = await openTunnel(`${d.url}/api/v1/environments/${env.id}/tunnel?port=5901`, d.token, 'websocket');
      bridged.push(await vncThroughput(ws, vnc!.password!, 20));
      ws.destroy();
      const tcp = net.connect(env.vnc_port!, '127.0.0.1');
      direct.push(await vncThroughput(tcp, vnc!.password!, 20));
      tcp.destroy();
    }
    figure({
      figure: 'VNC raw frames 1280x800 through the WebSocket bridge vs direct',
      hangar: median(bridged),
      floor: median(direct),
      unit: 'MiB/s',
      goal: 0.9,
      goal_on: 'ratio',
      cmp: '>=',
    });

    const { jupyter } = await d.admin.connection(jenv.id);
    const ip = JSON.parse(await docker('inspect', jenv.backend_ref!))[0].NetworkSettings.IPAddress;
    const viaGateway = `${d.url}/api/v1/environments/${jenv.id}/jupyter/api/status`;
    const straight = `http://${ip}:8888/api/v1/environments/${jenv.id}/jupyter/api/status`;
    const time = async (url: string, headers: Record<string, string>) => {
      const t0 = process.hrtime.bigint();
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const g: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < 60; i++) {
      g.push(await time(viaGateway, { authorization: `Bearer ${d.token}` }));
      s.push(await time(straight, { authorization: `token ${jupyter!.token}` }));
    }
    figure({
      figure: 'Jupyter GET /api/status through the gateway vs direct (median of 60)',
      hangar: median(g),
      floor: median(s),
      unit: 'ms',
      goal: 1.3,
      goal_on: 'ratio',
      cmp: '<=',
    });
    for (const id of [env.id, jenv.id]) await d.admin.deleteEnvironment(id);
  } finally {
    await d.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
