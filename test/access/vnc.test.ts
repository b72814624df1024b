// A desktop environment: real Xvnc in a container, vnc_port allocated, an 8-character password generated, and
// the RFB handshake with VNC authentication through the gateway's WebSocket bridge (and on the published port).
import assert from 'node:assert/strict';
import net from 'node:net';
import { ApiError } from '../../common/client';
import { openTunnel } from '../../common/tunnel';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { retry } from '../helpers/retry';
import { rfbLogin } from '../helpers/rfb';

const DESKTOP_IMAGE = 'hangar-test/desktop:latest';

/** The WebSocket path is what noVNC uses (binary frames); retried while Xvnc comes up after sshd. */
function rfbThroughGateway(
  d: TestDaemon,
  envId: string,
  password: string,
  transport: 'websocket' | 'raw' = 'websocket',
) {
  return retry(async () => {
    const s = await openTunnel(`${d.url}/api/v1/environments/${envId}/tunnel?port=5901`, d.token, transport);
    try {
      return await rfbLogin(s, password);
    } finally {
      s.destroy();
    }
  });
}

describe('access: VNC desktop', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let envId: string;

  before(async () => {
    d = await startDaemon();
    const env = await d.admin.createEnvironment({
      name: 'desk',
      image: DESKTOP_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'desktop',
    });
    envId = (await d.admin.waitFor(env.id, ['running'])).id;
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
  });

  it('allocates vnc_port and an 8-character password, returned only by the connection endpoint', async () => {
    const env = await d.admin.getEnvironment(envId);
    assert.ok(env.vnc_port! >= 15900 && env.vnc_port! <= 15999);
    const c = await d.admin.connection(envId);
    assert.match(c.vnc!.password!, /^[a-km-zA-HJ-NP-Z2-9]{8}$/);
    assert.equal(c.vnc!.port, env.vnc_port);
    assert.ok(!JSON.stringify(await d.admin.listEnvironments()).includes(c.vnc!.password!));
  });

  it('RFB handshake through the WebSocket bridge: the password works, a wrong one fails', async () => {
    const { vnc } = await d.admin.connection(envId);
    const ok = await rfbThroughGateway(d, envId, vnc!.password!);
    assert.equal(ok.version, 'RFB 003.008\n');
    assert.equal(ok.ok, true, ok.reason);
    assert.equal(ok.width, 1280);
    assert.equal(ok.height, 800);
    const bad = await rfbThroughGateway(d, envId, 'wrongpw1');
    assert.equal(bad.ok, false);
    assert.match(bad.reason!, /auth/i);
  });

  it('the published vnc_port answers on 127.0.0.1 too', async () => {
    const env = await d.admin.getEnvironment(envId);
    const { vnc } = await d.admin.connection(envId);
    const s = net.connect(env.vnc_port!, '127.0.0.1');
    try {
      const r = await rfbLogin(s, vnc!.password!);
      assert.equal(r.ok, true, r.reason);
    } finally {
      s.destroy();
    }
  });

  it('no two desktops on one backend share a port; a taken vnc_port is a 409', async () => {
    const first = await d.admin.getEnvironment(envId);
    const e = await d.admin.createEnvironment({
      name: 'desk2',
      image: DESKTOP_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'desktop',
    });
    assert.notEqual(e.vnc_port, first.vnc_port);
    const clash = await d.admin
      .createEnvironment({
        name: 'desk3',
        image: DESKTOP_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'desktop',
        vnc_port: first.vnc_port,
      })
      .catch((x: ApiError) => x);
    assert.ok(clash instanceof ApiError);
    assert.equal(clash.status, 409);
    assert.match(clash.message, /vnc_port \d+ is already used/);
    await d.admin.deleteEnvironment(e.id);
    const again = await d.admin.createEnvironment({
      name: 'desk4',
      image: DESKTOP_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'desktop',
    });
    assert.equal(again.vnc_port, e.vnc_port, 'released on delete');
    await d.admin.deleteEnvironment(again.id);
  });

  it('rotating the password: the new one works, the old one no longer does', async () => {
    const before = (await d.admin.connection(envId)).vnc!.password!;
    const after = await d.admin.request<{ vnc: { password: string } }>('POST', `/api/v1/environments/${envId}/rotate`, {
      secret: 'vnc_password',
    });
    assert.notEqual(after.vnc.password, before);
    assert.equal((await rfbThroughGateway(d, envId, after.vnc.password)).ok, true);
    assert.equal((await rfbThroughGateway(d, envId, before)).ok, false);
  });
});
