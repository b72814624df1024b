// The test NFS server (nfs-ganesha, test/setup/start-nfs.sh) serves its directory to a real NFS client: the
// user-space one from libnfs-utils (this machine's kernel has no NFS client).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from '../helpers/tmp';

const run = promisify(execFile);
export const NFS_DIR = process.env.HANGAR_NFS_DIR ?? '/var/lib/hangar-test/nfs/export';
const url = (p: string) => `nfs://127.0.0.1/export/${p}?version=4`;

describe('storage: the test NFS server (nfs-ganesha) and libnfs', function () {
  this.timeout(60_000);
  const name = `libnfs-${process.pid}-${Date.now()}`;
  after(() => {
    for (const f of [name, `${name}.back`]) fs.rmSync(path.join(NFS_DIR, f), { force: true });
  });

  it('a file written through NFS shows in the exported directory, and one written there reads back through NFS', async () => {
    const local = path.join(tmpDir(), 'in.txt');
    fs.writeFileSync(local, 'through nfs\n');
    await run('nfs-cp', [local, url(name)], { timeout: 20_000 });
    assert.equal(fs.readFileSync(path.join(NFS_DIR, name), 'utf8'), 'through nfs\n');
    fs.writeFileSync(path.join(NFS_DIR, `${name}.back`), 'from the export\n');
    const { stdout } = await run('nfs-cat', [url(`${name}.back`)], { timeout: 20_000 });
    assert.equal(stdout, 'from the export\n');
    const ls = await run('nfs-ls', [url('').replace('/?', '?')], { timeout: 20_000 });
    assert.match(ls.stdout, new RegExp(name));
  });
});
