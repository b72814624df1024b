import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../daemon/config';
import { tmpDir } from '../helpers/tmp';

describe('daemon configuration', () => {
  it('defaults: 127.0.0.1:7420, ~/.local/share/hangar, the local Docker socket', () => {
    const c = loadConfig({ env: { HOME: '/home/u' } });
    assert.equal(c.listen, '127.0.0.1:7420');
    assert.equal(c.listenPort, 7420);
    assert.match(c.data_dir, /\.local\/share\/hangar$/);
    assert.deepEqual(
      c.backends.map((b) => [b.id, 'url' in b ? b.url : '']),
      [['local', 'unix:///var/run/docker.sock']],
    );
    assert.equal(c.publicUrl, 'http://127.0.0.1:7420');
  });

  it('file < environment < flags', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'hangar.yaml');
    fs.writeFileSync(
      file,
      'listen: 127.0.0.1:1\ndata_dir: /from/file\nbackends:\n  - id: gpu-box\n    url: ssh://ops@10.0.0.5\n  - id: local\n',
    );
    const c = loadConfig({
      argv: ['--config', file, '--listen=127.0.0.1:3'],
      env: { HANGAR_LISTEN: '127.0.0.1:2', HANGAR_DATA_DIR: '/from/env' },
    });
    assert.equal(c.listen, '127.0.0.1:3');
    assert.equal(c.data_dir, '/from/env');
    assert.deepEqual(
      c.backends.map((b) => b.id),
      ['gpu-box', 'local'],
    );
    assert.equal((c.backends[1] as { url: string }).url, 'unix:///var/run/docker.sock');
  });

  it('rejects unknown flags, bad values and duplicate backends with the key named', () => {
    assert.throws(() => loadConfig({ argv: ['--lsten', 'x'] }), /unknown flag --lsten/);
    assert.throws(() => loadConfig({ env: { HANGAR_LISTEN: 'nope' } }), /listen: must be host:port/);
    const dir = tmpDir();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'backends:\n  - id: a\n  - id: a\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /duplicate id 'a'/);
    fs.writeFileSync(file, 'colour: red\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /invalid configuration/);
  });

  it('lifecycle: defaults, per-team defaults and limits; strict, a typo named', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(
      file,
      'lifecycle:\n  limits: { max_lifetime_hours: 72 }\n  teams:\n    ml: { defaults: { keep_alive_while_gpu_busy: true }, limits: { idle_timeout_minutes: 240 } }\n',
    );
    const c = loadConfig({ argv: ['--config', file] });
    assert.equal(c.lifecycle.interval_s, 30);
    assert.deepEqual(c.lifecycle.limits, { max_lifetime_hours: 72 });
    assert.deepEqual(c.lifecycle.teams.ml, {
      defaults: { keep_alive_while_gpu_busy: true },
      limits: { idle_timeout_minutes: 240 },
    });
    fs.writeFileSync(file, 'lifecycle:\n  defaults: { idle_timout_minutes: 5 }\n');
    assert.throws(
      () => loadConfig({ argv: ['--config', file] }),
      /lifecycle\.defaults\.idle_timout_minutes: unknown key/,
    );
  });

  it('backend entries are strict: a typo or a libvirt entry without kind is an error naming the key', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'backends:\n  - id: a\n    publsh_address: 127.0.0.1\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /backends\.0\.publsh_address: unknown key/);
    fs.writeFileSync(file, 'backends:\n  - id: kvm\n    uri: qemu:///system\n    pool: hangar\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /backends\.0\.uri, backends\.0\.pool: unknown key/);
    fs.writeFileSync(file, 'backends:\n  - id: kvm\n    kind: libvirt\n    uri: qemu:///system\n');
    assert.equal(loadConfig({ argv: ['--config', file] }).backends[0].kind, 'libvirt');
    fs.writeFileSync(file, 'backends:\n  - id: c\n    kind: kubernetes\n    namespace: x\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /backends\.0\.namespace: unknown key/);
    fs.writeFileSync(file, 'backends:\n  - id: c\n    kind: kubernetes\n  - id: d\n');
    const c = loadConfig({ argv: ['--config', file], env: { HANGAR_NVIDIA_SMI: '/x/nvidia-smi' } });
    assert.equal((c.backends[1] as { nvidia_smi: string }).nvidia_smi, '/x/nvidia-smi');
    fs.writeFileSync(file, 'backends:\n  - id: c\n    kind: nomad\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /backends\.0\.kind/);
  });
});
