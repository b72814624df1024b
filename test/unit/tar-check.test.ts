// The check a restore runs on each fetched archive before it touches anything: a whole tar under its root passes; a
// cut one, an empty one, or one with an entry outside the root (absolute, "..", another top directory) is a 422.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar-stream';
import { UnprocessableError } from '../../daemon/errors';
import { checkTar } from '../../daemon/snapshots/tarCheck';

async function tarFile(entries: { name: string; body?: string }[], cut = 0): Promise<string> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.body === undefined) pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name }, Buffer.from(e.body));
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  const buf = Buffer.concat(parts);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-tarcheck-')), 'a.tar');
  fs.writeFileSync(file, cut ? buf.subarray(0, cut) : buf);
  return file;
}

describe('restore: archives are read through before anything is replaced', () => {
  it('a whole archive under its root passes and says how many entries it holds', async () => {
    const f = await tarFile([{ name: 'alice/' }, { name: 'alice/a.txt', body: 'x'.repeat(2000) }, { name: 'alice/b' }]);
    assert.deepEqual(await checkTar(f, 'alice', 'the home'), { entries: 3 });
  });

  it('a cut archive, an empty one and entries outside the root are refused with a 422 naming the archive', async () => {
    const whole = [{ name: 'alice/' }, { name: 'alice/big', body: 'y'.repeat(5000) }];
    const cases: [string, Promise<unknown>, RegExp][] = [
      ['cut', tarFile(whole, 1500).then((f) => checkTar(f, 'alice', 'the home /home/alice')), /can't be read/],
      ['empty', tarFile([]).then((f) => checkTar(f, 'alice', 'the home /home/alice')), /is empty/],
      [
        'dotdot',
        tarFile([{ name: 'alice/' }, { name: 'alice/../etc/passwd', body: 'x' }]).then((f) =>
          checkTar(f, 'alice', 'h'),
        ),
        /outside 'alice\/'/,
      ],
      [
        'other root',
        tarFile([{ name: 'alice/' }, { name: 'bob/x', body: 'x' }]).then((f) => checkTar(f, 'alice', 'h')),
        /holds 'bob\/x'/,
      ],
    ];
    for (const [name, p, re] of cases) {
      const err = (await p.then(
        () => assert.fail(`${name}: accepted`),
        (e: unknown) => e,
      )) as Error;
      assert.ok(err instanceof UnprocessableError, `${name}: ${err.message}`);
      assert.match(err.message, re, name);
      assert.match(err.message, /nothing was restored/, name);
    }
  });
});
