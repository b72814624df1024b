// RDP for a Linux desktop: real xrdp in a container answers an RDP Connection Request (X.224 Connection Confirm)
// on the allocated rdp_port and through the gateway's tunnel; the .rdp file names that port.
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { openTunnel } from '../../common/tunnel';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { retry } from '../helpers/retry';

const RDP_IMAGE = 'hangar-test/rdp:latest';
// TPKT + X.224 Connection Request with an RDP negotiation request (TLS | CredSSP).
const CONNECTION_REQUEST = Buffer.from('030000130ee000000000000100080003000000', 'hex');

function x224(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no X.224 answer')), 10_000);
    s.once('data', (b: Buffer) => {
      clearTimeout(timer);
      resolve(b);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write(CONNECTION_REQUEST);
  });
}

describe('access: RDP (xrdp)', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let envId: string;

  before(async () => {
    d = await startDaemon();
    const env = await d.admin.createEnvironment({
      name: 'rdp',
      image: RDP_IMAGE,
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

  it('allocates rdp_port; the connection endpoint gives host, port, user, password and a .rdp file naming the port', async () => {
    const env = await d.admin.getEnvironment(envId);
    assert.ok(env.rdp_port! >= 13389 && env.rdp_port! <= 13488);
    const { rdp } = await d.admin.connection(envId);
    assert.equal(rdp!.port, env.rdp_port);
    assert.equal(rdp!.host, '127.0.0.1');
    assert.equal(rdp!.user, 'hangar');
    assert.ok(rdp!.password.length >= 12);
    const fields = Object.fromEntries(
      rdp!.rdp_file
        .split('\r\n')
        .filter(Boolean)
        .map((l) => {
          const [k, , ...v] = l.split(':');
          return [k, v.join(':')];
        }),
    );
    assert.equal(fields['full address'], `127.0.0.1:${env.rdp_port}`);
    assert.equal(fields.username, 'hangar');
    assert.ok(!rdp!.rdp_file.includes(rdp!.password), 'no password in the file');
    assert.ok(!JSON.stringify(await d.admin.listEnvironments()).includes(rdp!.password));
  });

  it('xrdp answers with an X.224 Connection Confirm on the published port and through the gateway', async () => {
    const env = await d.admin.getEnvironment(envId);
    const direct = await retry(async () => {
      const s = net.connect(env.rdp_port!, '127.0.0.1');
      try {
        return await x224(s);
      } finally {
        s.destroy();
      }
    });
    assert.equal(direct[0], 0x03, 'TPKT');
    assert.equal(direct[5], 0xd0, 'X.224 Connection Confirm');
    const tunneled = await retry(async () => {
      const s = await openTunnel(`${d.url}/api/v1/environments/${envId}/tunnel?port=3389`, d.token, 'raw');
      try {
        return await x224(s);
      } finally {
        s.destroy();
      }
    });
    assert.equal(tunneled[5], 0xd0);
  });
});
