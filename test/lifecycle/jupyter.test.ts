// A busy Jupyter kernel keeps an on_demand env up with no browser (and no connection) open; once the cell ends,
// the idle time runs from its last busy reading. Real Jupyter in Docker, moved clock.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { ManualClock } from '../../daemon/environments/clock';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { JUPYTER_IMAGE } from '../helpers/docker';
import { executeRequest } from '../helpers/jupyter';

const MIN = 60_000;

describe('lifecycle: a busy Jupyter kernel (moved clock)', function () {
  this.timeout(240_000);
  let d: TestDaemon;
  const clock = new ManualClock();
  const auth = () => ({ authorization: `Bearer ${d.token}` });

  before(async () => {
    d = await startDaemon({ configYaml: 'lifecycle:\n  interval_s: 3600\n', clock });
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
  });

  it('is activity while it executes, with nobody connected', async () => {
    const env = await d.admin.createEnvironment({
      name: `kern-${Date.now().toString(36)}`,
      image: JUPYTER_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'ide',
      lifecycle_policy: 'on_demand',
    });
    await d.admin.waitFor(env.id, ['running']);
    const base = `${d.url}/api/v1/environments/${env.id}/jupyter`;
    // sshd answers first; Jupyter takes a few seconds more to listen.
    for (let end = Date.now() + 90_000; ;) {
      const r = await fetch(`${base}/api/status`, { headers: auth() }).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > end) throw new Error(`Jupyter did not answer: ${r?.status}`);
      await new Promise((res) => setTimeout(res, 300));
    }
    const k = (await (
      await fetch(`${base}/api/kernels`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { id: string };
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/kernels/${k.id}/channels`, { headers: auth() });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const msgId = crypto.randomUUID();
    const busy = new Promise<void>((resolve) =>
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.parent_header?.msg_id === msgId && m.msg_type === 'status' && m.content.execution_state === 'busy')
          resolve();
      }),
    );
    ws.send(executeRequest('import time; time.sleep(12)', msgId));
    await busy;
    ws.close();
    const next = async () => (await d.admin.getEnvironment(env.id)).next_action!;
    for (let i = 0; i < 100 && (await next()).action !== 'stop'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await next()).reason, 'idle 30 min', 'no connection open any more');
    clock.advance(45 * MIN);
    await d.server.envs.autopilot.tick();
    assert.equal((await d.admin.getEnvironment(env.id)).status, 'running', 'the busy kernel kept it up');
    assert.equal(Date.parse((await next()).at!), clock.now() + 30 * MIN);
    // The cell ends (12 s of real time); the next readings find the kernel idle and the idle time runs out.
    await new Promise((r) => setTimeout(r, 13_000));
    clock.advance(1 * MIN);
    await d.server.envs.autopilot.tick();
    clock.advance(30 * MIN);
    await d.server.envs.autopilot.tick();
    assert.equal((await d.admin.getEnvironment(env.id)).status, 'stopped');
  });
});
