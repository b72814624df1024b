// The test S3 server is real: versitygw built from the Go module proxy, spoken to with @aws-sdk/client-s3 through the
// daemon's own object store adapter (multipart included), and refusing wrong credentials.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { objectStoreClient, storeHealth, storeProblem } from '../../daemon/objectstore/client';
import { ensureS3Server, testStore, testStoreConfig, uniqueBucket } from '../helpers/s3';

describe('datasets: the test S3 server (versitygw)', function () {
  this.timeout(120_000);
  const store = testStore();
  const bucket = uniqueBucket();

  before(async () => {
    ensureS3Server();
    await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    const listed = await store.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of listed.Contents ?? [])
      await store.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
    await store.client.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  it('answers the health check as the root account', async () => {
    assert.deepEqual(await storeHealth(store, bucket), { name: 'test-s3', endpoint: store.config.endpoint, ok: true });
  });

  it('stores and returns an object by content, and a multipart upload of 12 MiB', async () => {
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/small.txt', Body: 'hello' }));
    const got = await store.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/small.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hello');

    const big = crypto.randomBytes(12 * 1024 * 1024);
    const upload = new Upload({
      client: store.client,
      params: { Bucket: bucket, Key: 'a/big.bin', Body: big },
      partSize: 5 * 1024 * 1024,
    });
    await upload.done();
    const back = await store.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/big.bin' }));
    const bytes = Buffer.from(await back.Body!.transformToByteArray());
    assert.equal(sha256(bytes), sha256(big));
  });

  it('refuses wrong credentials with an S3 error that names no secret', async () => {
    const config = testStoreConfig();
    const wrong = objectStoreClient(config, { accessKeyId: 'nobody', secretAccessKey: 'not-the-secret-0123456789' });
    const health = await storeHealth(wrong, bucket);
    assert.equal(health.ok, false);
    assert.match(health.problem!, /HTTP 40[03]/);
    assert.doesNotMatch(JSON.stringify(health), /not-the-secret/);
  });

  it('says a store that is down is unreachable, by the network error', async () => {
    const down = objectStoreClient(testStoreConfig({ endpoint: 'http://127.0.0.1:9', timeout_ms: 2000 }), {
      accessKeyId: 'x',
      secretAccessKey: 'y',
    });
    const health = await storeHealth(down);
    assert.equal(health.ok, false);
    assert.match(health.problem!, /ECONNREFUSED|TimeoutError|unreachable/);
    assert.equal(storeProblem(new Error('x')), 'Error');
  });
});

function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}
