import assert from 'node:assert/strict';
import type { EnvSpec } from '../../daemon/contract';
import { createOptions } from '../../daemon/backends/docker/hostconfig';
import { SSHD_CAPABILITIES } from '../../daemon/contract';
import { dockerOptions } from '../../daemon/backends/docker/connection';
import { demuxBuffer } from '../../daemon/backends/docker';

const spec = (over: Partial<EnvSpec> = {}): EnvSpec => ({
  envId: '0123456789abcdef',
  name: 'dev',
  owner: 'u1',
  image: 'img',
  pullPolicy: 'never',
  cpu: 1.5,
  memoryMb: 512,
  env: { A: '1' },
  ports: [{ container_port: 8080 }, { container_port: 53, protocol: 'udp', host_port: 5353, host_ip: '127.0.0.2' }],
  mounts: [{ type: 'volume', source: 'data', target: '/data' }],
  gpus: { mode: 'none', deviceIds: [], count: 0 },
  files: [],
  command: ['/bin/sh', '/.hangar/init.sh'],
  ...over,
});

describe('docker create options', () => {
  it('hardens by default: no privileges, no-new-privileges, only sshd capabilities', () => {
    const o = createOptions(spec(), 'gw1', '127.0.0.1');
    assert.equal(o.HostConfig!.Privileged, false);
    assert.deepEqual(o.HostConfig!.SecurityOpt, ['no-new-privileges:true']);
    assert.deepEqual(o.HostConfig!.CapDrop, ['ALL']);
    assert.deepEqual(o.HostConfig!.CapAdd, SSHD_CAPABILITIES);
    assert.ok(!SSHD_CAPABILITIES.includes('SYS_ADMIN') && !SSHD_CAPABILITIES.includes('NET_ADMIN'));
  });

  it('limits, labels, ports on 127.0.0.1 unless asked, mounts', () => {
    const o = createOptions(spec(), 'gw1', '127.0.0.1');
    assert.equal(o.HostConfig!.NanoCpus, 1.5e9);
    assert.equal(o.HostConfig!.Memory, 512 * 1024 * 1024);
    assert.equal(o.Labels!['dev.hangar.gateway'], 'gw1');
    assert.equal(o.Labels!['dev.hangar.env-id'], '0123456789abcdef');
    assert.deepEqual(o.HostConfig!.PortBindings, {
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '53/udp': [{ HostIp: '127.0.0.2', HostPort: '5353' }],
    });
    assert.deepEqual(o.HostConfig!.Mounts, [{ Type: 'volume', Source: 'data', Target: '/data', ReadOnly: false }]);
    assert.equal(o.name, 'hangar-dev-01234567');
  });

  it('maps granted GPUs by exact UUID, never by count and ids together', () => {
    const ids = ['GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', 'MIG-11111111-2222-3333-4444-555555555555'];
    const o = createOptions(spec({ gpus: { mode: 'exclusive', deviceIds: ids, count: 2 } }), 'gw', '127.0.0.1');
    assert.deepEqual(o.HostConfig!.DeviceRequests, [
      { Driver: 'nvidia', DeviceIDs: ids, Capabilities: [['gpu']], Options: {} },
    ]);
    const n = createOptions(spec({ gpus: { mode: 'exclusive', deviceIds: [], count: 2 } }), 'gw', '127.0.0.1');
    assert.deepEqual(n.HostConfig!.DeviceRequests, [
      { Driver: 'nvidia', Count: 2, Capabilities: [['gpu']], Options: {} },
    ]);
    assert.equal(createOptions(spec(), 'gw', '127.0.0.1').HostConfig!.DeviceRequests, undefined);
  });

  it('parses Docker URLs', () => {
    assert.deepEqual(dockerOptions('unix:///run/d.sock').opts, { socketPath: '/run/d.sock' });
    assert.deepEqual(dockerOptions('tcp://10.1.2.3:2375').opts, { protocol: 'http', host: '10.1.2.3', port: 2375 });
    const s = dockerOptions('ssh://ops@gpu-box:2222');
    assert.deepEqual(s.ssh, { host: 'gpu-box', port: 2222, username: 'ops', privateKey: undefined });
    assert.throws(() => dockerOptions('ftp://x'), /unsupported Docker URL/);
  });

  it('demultiplexes Docker log frames', () => {
    const frame = (stream: number, s: string) =>
      Buffer.concat([Buffer.from([stream, 0, 0, 0, 0, 0, 0, s.length]), Buffer.from(s)]);
    assert.equal(demuxBuffer(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')])).toString(), 'out\nerr\n');
  });
});
