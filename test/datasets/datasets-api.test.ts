// Datasets on the real test S3 server (versitygw) through a real hangard: the catalogue with non-admin users (another's
// dataset is 404, a team's is shared), uploads and downloads through the gateway checked by content (streamed,
// multipart, resumed after a cut, cancelled), bad keys naming the field, presigned URLs, a store that is down (503
// naming it), and the CLI with progress.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { HangarClient } from '../../common/client';
import { datasetApi, downloadFile, PART_BYTES, uploadFile } from '../../common/datasetsClient';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureS3Server, S3_CREDENTIALS_FILE, S3_ENDPOINT, testStore, uniqueBucket } from '../helpers/s3';
import { tmpDir } from '../helpers/tmp';

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

describe('datasets: catalogue and transfers through the gateway', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  const team = `dt${sfx}`;
  const bucket = uniqueBucket('hangar-ds');
  const c: Record<string, HangarClient> = {};
  const tokens: Record<string, string> = {};
  const work = tmpDir('hangar-ds-');

  before(async () => {
    ensureS3Server();
    d = await startDaemon({
      configYaml: [
        'object_stores:',
        `  - {name: s3, endpoint: '${S3_ENDPOINT}', credentials: {file: ${S3_CREDENTIALS_FILE}}}`,
        `  - {name: down, endpoint: 'http://127.0.0.1:9', credentials: {file: ${S3_CREDENTIALS_FILE}}, timeout_ms: 1000, presign: false}`,
        '',
      ].join('\n'),
    });
    for (const [n, t] of [
      ['alice', undefined],
      ['bob', team],
      ['carol', team],
    ] as const) {
      const { token } = await d.admin.createUser(`${n}${sfx}`, 'user', t);
      tokens[n] = token;
      c[n] = new HangarClient({ url: d.url, token });
    }
  });
  after(async () => {
    for (const x of await datasetApi.list(d.admin)) await datasetApi.remove(d.admin, x.id, true).catch(() => undefined);
    await d?.close();
  });

  it('says which stores answer, naming the one that is down, and never a credential', async () => {
    const stores = await datasetApi.stores(c.alice);
    assert.deepEqual(
      stores.map((s) => [s.name, s.ok]),
      [
        ['s3', true],
        ['down', false],
      ],
    );
    const secret = fs.readFileSync(S3_CREDENTIALS_FILE, 'utf8').match(/AWS_SECRET_ACCESS_KEY=(.*)/)![1];
    assert.doesNotMatch(JSON.stringify(stores), new RegExp(secret));
    const e = await apiError(datasetApi.create(c.alice, { name: 'x', store: 'down', bucket }));
    assert.equal(e.status, 503);
    assert.match(e.message, /object store 'down'/);
  });

  it('creates, lists and hides datasets by owner; a team dataset is shared; bad input names the field', async () => {
    const a = await datasetApi.create(c.alice, { name: 'imgs', store: 's3', bucket, tags: ['vision'] });
    assert.equal(a.prefix, `alice${sfx}/imgs`);
    assert.equal(a.object_count, 0);
    const t = await datasetApi.create(c.bob, { name: 'shared', store: 's3', bucket, team: true });
    assert.equal(t.team, team);
    assert.deepEqual(
      (await datasetApi.list(c.carol)).map((x) => x.name),
      ['shared'],
    );
    assert.equal((await apiError(datasetApi.get(c.bob, a.id))).status, 404);
    assert.equal((await apiError(datasetApi.get(c.bob, 'imgs'))).status, 404);
    assert.equal((await apiError(datasetApi.remove(c.carol, a.id))).status, 404);
    assert.equal((await apiError(datasetApi.create(c.alice, { name: 'imgs', store: 's3', bucket }))).status, 409);
    for (const [body, field] of [
      [{ name: 'p', store: 's3', bucket, prefix: '../escape' }, 'prefix'],
      [{ name: 'p', store: 's3', bucket, prefix: '/abs' }, 'prefix'],
      [{ name: 'Bad Name', store: 's3', bucket }, 'name'],
      [{ name: 'p', store: 'nope', bucket }, 'store'],
      [{ name: 'p', store: 's3', bucket: 'UPPER' }, 'bucket'],
    ] as const) {
      const e = await apiError(c.alice.request('POST', '/api/v1/datasets', body));
      assert.equal(e.status, 400, JSON.stringify(body));
      assert.equal(e.field, field);
    }
    const patched = await c.alice.request<{ description: string }>('PATCH', `/api/v1/datasets/${a.id}`, {
      description: 'cats',
    });
    assert.equal(patched.description, 'cats');
  });

  it('uploads and downloads through the gateway by content: small, multipart, resumed after a cut', async () => {
    const small = path.join(work, 'small.txt');
    fs.writeFileSync(small, 'hello dataset\n');
    const big = path.join(work, 'big.bin');
    fs.writeFileSync(big, crypto.randomBytes(PART_BYTES * 4 + 12345));
    await uploadFile(c.alice, 'imgs', small, 'a/small.txt');
    // A cut once the store holds some parts: the state file remembers the upload; the catalogue counts no half object.
    const stateDir = path.join(work, 'state');
    const ac = new AbortController();
    const storedParts = async () => {
      const f = fs.readdirSync(stateDir)[0];
      const { upload_id } = JSON.parse(fs.readFileSync(path.join(stateDir, f), 'utf8')) as { upload_id: string };
      const r = await c.alice.request<{ parts: { size: number }[] }>(
        'GET',
        `/api/v1/datasets/imgs/uploads/${encodeURIComponent(upload_id)}?key=a/big.bin`,
      );
      return r.parts;
    };
    await assert.rejects(
      uploadFile(c.alice, 'imgs', big, 'a/big.bin', { stateDir, signal: ac.signal, onPart: () => ac.abort() }),
    );
    assert.equal(fs.readdirSync(stateDir).length, 1);
    let ds = await datasetApi.get(c.alice, 'imgs');
    assert.equal(ds.object_count, 1, 'the cut upload is not in the catalogue');
    const kept = (await storedParts()).reduce((n, p) => n + p.size, 0);
    assert.ok(kept > 0);
    // A part whose bytes were all sent when the cut came may still land in the store after that read (the gateway
    // finishes its UploadPart): the resume starts from what the store holds then, and sends only the rest.
    let resumedFrom = -1;
    const sent: number[] = [];
    await uploadFile(c.alice, 'imgs', big, 'a/big.bin', {
      stateDir,
      onProgress: (p) => {
        if (resumedFrom < 0) resumedFrom = p.bytes;
      },
      onPart: (n) => sent.push(n),
    });
    const size = fs.statSync(big).size;
    assert.ok(resumedFrom >= kept, `resumed after the parts the store kept (${resumedFrom} < ${kept})`);
    const sentBytes = sent.reduce((b, n) => b + Math.min(PART_BYTES, size - (n - 1) * PART_BYTES), 0);
    assert.equal(resumedFrom + sentBytes, size, 'only the missing parts were sent');
    assert.equal(fs.readdirSync(stateDir).length, 0);
    ds = await datasetApi.get(c.alice, 'imgs');
    assert.equal(ds.object_count, 2);
    assert.equal(ds.size_bytes, fs.statSync(small).size + fs.statSync(big).size);
    const back = path.join(work, 'back.bin');
    await downloadFile(c.alice, 'imgs', 'a/big.bin', back);
    assert.equal(sha(fs.readFileSync(back)), sha(fs.readFileSync(big)));
    // A download cut after 5 MiB + 1 resumes from there (ranges in order after it); a whole .part is just renamed.
    const bigBytes = fs.readFileSync(big);
    for (const kept of [5 * 1024 * 1024 + 1, bigBytes.length]) {
      fs.rmSync(back);
      fs.writeFileSync(`${back}.part`, bigBytes.subarray(0, kept));
      let from = -1;
      await downloadFile(c.alice, 'imgs', 'a/big.bin', back, {
        onProgress: (p) => {
          if (from < 0) from = p.bytes;
        },
      });
      assert.equal(sha(fs.readFileSync(back)), sha(bigBytes), `resumed at ${kept}`);
      assert.ok(!fs.existsSync(`${back}.part`));
      if (kept < bigBytes.length) assert.equal(from, kept);
    }
    const objs = await datasetApi.objects(c.alice, 'imgs', 'a');
    assert.deepEqual(
      objs.map((o) => o.key),
      ['a/big.bin', 'a/small.txt'],
    );
    // No multipart upload is left open under the prefix.
    const s3 = testStore();
    const open = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: ds.prefix + '/' }));
    assert.equal(open.Uploads?.length ?? 0, 0);
  });

  it('refuses traversal and odd keys naming the field; a missing object is 404; another user gets 404', async () => {
    for (const key of ['../x', '/abs', 'a//b', 'a/./b', 'bad\\key', 'a/']) {
      const e = await apiError(c.alice.request('GET', `/api/v1/datasets/imgs/object?key=${encodeURIComponent(key)}`));
      assert.equal(e.status, 400, key);
      assert.equal(e.field, 'key');
    }
    // A Range is handed to the store only as one plain byte range.
    for (const range of ['bytes=0-1,4-5', 'bytes=-5', 'items=0-1', 'bytes=0-1a']) {
      const r = await apiError(
        c.alice.exchange('GET', '/api/v1/datasets/imgs/object?key=a/small.txt', { headers: { range } }),
      );
      assert.equal(r.status, 400, range);
      assert.equal(r.field, 'range');
    }
    const past = await apiError(
      c.alice.exchange('GET', '/api/v1/datasets/imgs/object?key=a/small.txt', {
        headers: { range: 'bytes=99999999-' },
      }),
    );
    assert.equal(past.status, 416);
    const e = await apiError(c.alice.request('GET', '/api/v1/datasets/imgs/object?key=nope.txt'));
    assert.equal(e.status, 404);
    assert.match(e.message, /nope\.txt/);
    const f = path.join(work, 'x.txt');
    fs.writeFileSync(f, 'x');
    assert.equal((await apiError(uploadFile(c.bob, 'imgs', f, 'x.txt'))).status, 404);
    assert.equal(
      (await apiError(uploadFile(c.bob, `id:${(await datasetApi.get(c.alice, 'imgs')).id}`, f, 'x'))).status,
      404,
    );
  });

  it('hands out presigned URLs where the store allows, and they work without Hangar', async () => {
    const { url } = await datasetApi.presign(c.alice, 'imgs', 'a/small.txt');
    const res = await fetch(url);
    assert.equal(await res.text(), 'hello dataset\n');
    const put = await datasetApi.presign(c.alice, 'imgs', 'direct.txt', 'put');
    assert.equal((await fetch(put.url, { method: 'PUT', body: 'direct' })).status, 200);
    assert.equal((await datasetApi.get(c.alice, 'imgs')).object_count, 3);
  });

  it('the CLI lists, uploads a folder, downloads it, and removes with its objects', async () => {
    const cli = new Cli(d.url);
    await cli.login(tokens.carol);
    const dir = path.join(work, 'folder');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'one.txt'), '1');
    fs.writeFileSync(path.join(dir, 'sub', 'two.txt'), '22');
    let r = await cli.run(['datasets', 'upload', 'shared', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /uploaded 2 file\(s\)/);
    r = await cli.run(['datasets', 'ls']);
    assert.match(r.stdout, /shared\s+team:/);
    const out = path.join(work, 'out');
    r = await cli.run(['datasets', 'download', 'shared', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(out, 'sub', 'two.txt'), 'utf8'), '22');
    r = await cli.run(['backends']);
    assert.match(r.stdout, /store s3 {2}s3 {2}up/);
    assert.match(r.stdout, /store down {2}s3 {2}DOWN/);
    r = await cli.run(['datasets', 'rm', 'shared', '--delete-objects']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await datasetApi.list(c.bob), []);
  });
});
