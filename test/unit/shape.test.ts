import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

describe('daemon shape', () => {
  it('no import circles, the contract imports only itself, backends no services, no file over 400 lines, no function over 60', () => {
    const out = execFileSync(process.execPath, ['scripts/shape-check.mjs', 'daemon'], { encoding: 'utf8' });
    assert.match(out, /no import circles/);
  });
});
