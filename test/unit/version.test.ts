// Both programs answer --version with the package's version (the bundles carry it from package.json).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('--version', () => {
  for (const bin of ['bin/hangar', 'bin/hangard']) {
    it(`${bin} --version prints ${version}`, () => {
      const out = execFileSync(process.execPath, [path.join(ROOT, bin), '--version'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      });
      assert.equal(out.trim(), version);
    });
  }
});
