// The set-up, bench and CI scripts pass shellcheck (Debian's; .ci/run installs it). A missing
// shellcheck fails this test: a lint that skips itself would let the cold path rot unseen.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function shellScripts(): string[] {
  const dirs = ['test/setup', 'test/setup/k8s', 'test/doubles', 'bench', 'scripts'];
  const files = ['.ci/run', 'test/run.sh'];
  for (const dir of dirs) {
    for (const name of fs.readdirSync(path.join(ROOT, dir))) {
      const rel = path.join(dir, name);
      if (!fs.statSync(path.join(ROOT, rel)).isFile()) continue;
      const head = fs.readFileSync(path.join(ROOT, rel), 'utf8').slice(0, 64);
      if (name.endsWith('.sh') || /^#!.*\b(ba)?sh\b/.test(head)) files.push(rel);
    }
  }
  return files.sort();
}

describe('shell scripts', () => {
  it('pass shellcheck', function () {
    this.timeout(120_000);
    const files = shellScripts();
    assert.ok(files.length >= 10, `found only ${files.length} scripts`);
    const r = spawnSync('shellcheck', ['-x', '-f', 'gcc', ...files], { cwd: ROOT, encoding: 'utf8' });
    assert.ok(!r.error, `shellcheck could not run (apt-get install shellcheck): ${r.error?.message}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
