// Datasets on Kubernetes with credentials scoped to the env's datasets, against the real test S3 server (versitygw:
// an account per env through its admin API, bucket policy statements) and the test cluster (kwok runs no kubelet, so
// the pod is checked as the API server stores it: the sync init containers, the copy-back sidecar of a read-write
// dataset, the Secret, read-only mounts, no key in any literal value). The env's key is then used straight against
// the store: it reads its datasets, writes only the read-write one, and is refused another dataset's prefix, another
// bucket and (after the env is deleted) everything. Stores that can't scope are refused with a 400 naming the field,
// unless the operator opted in (then the env gets the store's own key).
import assert from 'node:assert/strict';
import fs, { readFileSync } from 'node:fs';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import {
  GetBucketPolicyCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { HangarClient } from '../../common/client';
import { datasetApi } from '../../common/datasetsClient';
import type { Environment } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, eventually, IMAGE, k8sApis, KUBECONFIG, nsOf, podsOf } from '../helpers/k8s';
import { ensureS3Server, S3_CREDENTIALS_FILE, S3_ENDPOINT, testStore, uniqueBucket } from '../helpers/s3';
import { tmpDir } from '../helpers/tmp';

const SYNC_IMAGE = 'registry.example.org/mirror/rclone:1.68';

describe('datasets: Kubernetes pods sync them, with credentials scoped to their datasets', function () {
  this.timeout(300_000);
  const sfx = Date.now() % 100000;
  const bucket = uniqueBucket('hangar-k8sds');
  const other = uniqueBucket('hangar-k8sds-other');
  const logLines: string[] = [];
  let d: TestDaemon;
  let alice: HangarClient;
  let bob: HangarClient;
  let env: Environment;
  let keys: { id: string; secret: string };

  const asEnv = () =>
    new S3Client({
      endpoint: S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: keys.id, secretAccessKey: keys.secret },
    });
  const denied = async (p: Promise<unknown>, what: string) =>
    assert.equal(
      await p.then(
        () => 'allowed',
        (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
      ),
      403,
      what,
    );

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    ensureS3Server();
    const store = `endpoint: '${S3_ENDPOINT}', credentials: {file: ${S3_CREDENTIALS_FILE}}`;
    d = await startDaemon({
      logLines,
      configYaml: [
        'backends:',
        `  - {id: k8s, kind: kubernetes, kubeconfig: ${KUBECONFIG}, dataset_sync_image: '${SYNC_IMAGE}'}`,
        `  - {id: k8snosync, kind: kubernetes, kubeconfig: ${KUBECONFIG}}`,
        'object_stores:',
        `  - {name: s3, ${store}, scoping: versitygw, admin_endpoint: 'http://127.0.0.1:17071'}`,
        `  - {name: plain, ${store}}`,
        `  - {name: optin, ${store}, full_credentials_to_envs: true}`,
        '',
      ].join('\n'),
    });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`)).token });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`)).token });
    await datasetApi.create(alice, { name: 'corpus', store: 's3', bucket });
    await datasetApi.create(alice, { name: 'scratch', store: 's3', bucket });
    await datasetApi.create(alice, { name: 'unscoped', store: 'plain', bucket });
    await datasetApi.create(alice, { name: 'optedin', store: 'optin', bucket: other });
    await datasetApi.create(bob, { name: 'bobs', store: 's3', bucket });
    await datasetApi.create(bob, { name: 'elsewhere', store: 's3', bucket: other });
    const root = testStore().client;
    for (const [b, key] of [
      [bucket, `alice${sfx}/corpus/train/a.txt`],
      [bucket, `bob${sfx}/bobs/b.txt`],
      [other, `bob${sfx}/elsewhere/c.txt`],
    ])
      await root.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `content of ${key}` }));
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    for (const x of (await datasetApi.list(d.admin).catch(() => [])) ?? [])
      await datasetApi.remove(d.admin, x.id, true).catch(() => undefined);
    await d?.close();
  });

  const create = (c: HangarClient, backend: string, mounts: object[], name = `ds${sfx}`) =>
    c.createEnvironment({
      name,
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: backend,
      storage_type: 's3',
      storage_config: { mounts: mounts as never },
    });

  it("refuses another user's dataset (404), a store that can't scope and a backend without a sync image (400s)", async () => {
    const corpus = await datasetApi.get(alice, 'corpus');
    const theirs = await apiError(create(bob, 'k8s', [{ type: 'dataset', source: `id:${corpus.id}`, target: '/d' }]));
    assert.equal(theirs.status, 404);
    const plain = await apiError(create(alice, 'k8s', [{ type: 'dataset', source: 'unscoped', target: '/d' }]));
    assert.equal(plain.status, 400);
    assert.equal(plain.field, 'storage_config.mounts.0.source');
    assert.match(plain.message, /scoping: none.*full_credentials_to_envs/);
    const nosync = await apiError(create(alice, 'k8snosync', [{ type: 'dataset', source: 'corpus', target: '/d' }]));
    assert.equal(nosync.status, 400);
    assert.equal(nosync.field, 'storage_config.mounts.0.type');
  });

  it('a pod with a read-only and a read-write dataset: sync init containers, a copy-back sidecar, a Secret', async () => {
    const made = await create(alice, 'k8s', [
      { type: 'dataset', source: 'corpus', target: '/data/corpus', read_only: true },
      { type: 'dataset', source: 'scratch', target: '/data/scratch' },
    ]);
    env = await alice.waitFor(made.id, ['running', 'failed'], { timeoutMs: 120_000 });
    assert.equal(env.status, 'running', env.status_message ?? '');
    const [pod] = await podsOf(env);
    const inits = pod.spec!.initContainers!.filter((c) => c.name.startsWith('dataset-'));
    assert.deepEqual(
      inits.map((c) => [c.name, c.image, c.restartPolicy ?? null]),
      [
        ['dataset-sync-0', SYNC_IMAGE, null],
        ['dataset-sync-1', SYNC_IMAGE, null],
        ['dataset-back-1', SYNC_IMAGE, 'Always'],
      ],
    );
    assert.deepEqual(inits[0].command, ['rclone', 'copy', `ds:${bucket}/alice${sfx}/corpus`, '/dataset']);
    for (const c of inits) {
      assert.equal(c.securityContext?.runAsUser, 1000);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    }
    assert.equal(pod.spec!.terminationGracePeriodSeconds, 120, 'time for the copy-back');
    const mounts = pod.spec!.containers[0].volumeMounts!.filter((m) => m.name.startsWith('ds-'));
    assert.deepEqual(
      mounts.map((m) => [m.mountPath, m.readOnly ?? false]),
      [
        ['/data/corpus', true],
        ['/data/scratch', false],
      ],
    );
    assert.ok(pod.spec!.volumes!.find((v) => v.name === 'ds-0')?.emptyDir, 'an emptyDir per dataset');
    // The keys: only through secretKeyRef, only in the sync containers, in a Secret of their own.
    const { core } = k8sApis();
    const secrets = (await core.listNamespacedSecret({ namespace: nsOf(env) })).items.filter((s) =>
      s.metadata!.name!.endsWith('-datasets'),
    );
    assert.equal(secrets.length, 1, 'one datasets Secret');
    const data = secrets[0].data!;
    keys = {
      id: Buffer.from(data['ds-0-access-key-id'], 'base64').toString(),
      secret: Buffer.from(data['ds-0-secret-access-key'], 'base64').toString(),
    };
    assert.match(keys.id, /^hgenv[0-9a-f]+$/);
    const podText = JSON.stringify(pod);
    assert.ok(!podText.includes(keys.secret), 'no key in the pod spec');
    assert.ok(
      !(pod.spec!.containers[0].env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === secrets[0].metadata!.name),
    );
    const sync = inits[0].env!.find((e) => e.name === 'RCLONE_CONFIG_DS_SECRET_ACCESS_KEY')!;
    assert.deepEqual(
      { ...sync.valueFrom?.secretKeyRef },
      { name: secrets[0].metadata!.name, key: 'ds-0-secret-access-key' },
    );
    const boot = (await core.listNamespacedSecret({ namespace: nsOf(env) })).items.find((s) =>
      s.metadata!.name!.endsWith('-boot'),
    )!;
    assert.ok(!JSON.stringify(boot).includes(Buffer.from(keys.secret).toString('base64')), 'not in the boot files');
    // Nor in answers or the daemon's log.
    assert.ok(!JSON.stringify(await alice.getEnvironment(env.id)).includes(keys.secret));
    assert.ok(!JSON.stringify(await d.admin.listEnvironments()).includes(keys.secret));
    assert.ok(!logLines.some((l) => l.includes(keys.secret)), 'never logged');
  });

  it("the env's key reads its datasets, writes only the read-write one, and nothing else", async () => {
    const s3 = asEnv();
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `alice${sfx}/corpus/train/a.txt` }));
    assert.equal(await got.Body!.transformToString(), `content of alice${sfx}/corpus/train/a.txt`);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `alice${sfx}/corpus/` }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      [`alice${sfx}/corpus/train/a.txt`],
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `alice${sfx}/scratch/out.txt`, Body: 'rw' }));
    await denied(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: `alice${sfx}/corpus/new.txt`, Body: 'x' })),
      'read-only dataset: no writes',
    );
    await denied(s3.send(new GetObjectCommand({ Bucket: bucket, Key: `bob${sfx}/bobs/b.txt` })), "another's prefix");
    await denied(s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `bob${sfx}/` })), 'listing outside');
    await denied(s3.send(new ListObjectsV2Command({ Bucket: bucket })), 'listing the whole bucket');
    await denied(s3.send(new GetObjectCommand({ Bucket: other, Key: `bob${sfx}/elsewhere/c.txt` })), 'another bucket');
    await denied(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: `alice${sfx}/corpusx/a.txt` })),
      'a sibling prefix that starts alike',
    );
  });

  it("syncs a read-write dataset back on demand: rclone exec'd in its copy-back sidecar through the API server", async () => {
    assert.equal((await apiError(bob.syncDatasets(env.id))).status, 404, "another user's env");
    const [pod] = await podsOf(env);
    const namespace = nsOf(env);
    // kwok stands in for the kubelet: an Exec object makes it run the sidecar's exec here, in a directory that plays
    // the pod's copy of the dataset, with the sidecar's environment as a kubelet would give it (the key from the
    // datasets Secret its secretKeyRef names).
    const work = tmpDir('hangar-k8s-syncback-');
    fs.writeFileSync(path.join(work, 'result.txt'), 'written in the pod');
    fs.mkdirSync(path.join(work, 'run'));
    fs.writeFileSync(path.join(work, 'run', 'metrics.json'), '{"loss": 0.1}');
    const sidecar = pod.spec!.initContainers!.find((c) => c.name === 'dataset-back-1')!;
    assert.equal(sidecar.workingDir, '/dataset');
    const { core, kc } = k8sApis();
    const secret = (await core.listNamespacedSecret({ namespace })).items.find((x) =>
      x.metadata!.name!.endsWith('-datasets'),
    )!;
    const envs = sidecar.env!.map((e) => ({
      name: e.name,
      value: e.value ?? Buffer.from(secret.data![e.valueFrom!.secretKeyRef!.key], 'base64').toString(),
    }));
    // kwok's local exec adds these to its own environment, which a pod's would not have: this machine's
    // AWS_CA_BUNDLE makes rclone's S3 client refuse its own HTTP transport.
    envs.push({ name: 'AWS_CA_BUNDLE', value: '' });
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'kwok.x-k8s.io',
      version: 'v1alpha1',
      namespace,
      plural: 'execs',
      body: {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'Exec',
        metadata: { name: pod.metadata!.name, namespace },
        spec: { execs: [{ containers: ['dataset-back-1'], local: { workDir: work, envs } }] },
      },
    });
    // kwok picks the object up from its watch.
    let last = '';
    const r = await eventually(
      async () => {
        const x = await alice.syncDatasets(env.id);
        last = JSON.stringify(x.datasets);
        return x.datasets[0]?.ok && x;
      },
      'a successful sync',
      30_000,
    ).catch((e: Error) => assert.fail(`${e.message}; the last answer: ${last}`));
    assert.deepEqual(r.datasets, [{ source: 'scratch', target: '/data/scratch', ok: true }]);
    const root = testStore().client;
    for (const [key, body] of [
      ['result.txt', 'written in the pod'],
      ['run/metrics.json', '{"loss": 0.1}'],
    ]) {
      const got = await root.send(new GetObjectCommand({ Bucket: bucket, Key: `alice${sfx}/scratch/${key}` }));
      assert.equal(await got.Body!.transformToString(), body, key);
    }
    // Stopped, it was copied back at the stop (the sidecar's TERM): on demand is for a running env.
    await alice.action(env.id, 'stop');
    await alice.waitFor(env.id, ['stopped'], { timeoutMs: 120_000 });
    assert.equal((await apiError(alice.syncDatasets(env.id))).status, 409);
  });

  it('an env with only read-only datasets has nothing to sync back (422)', async () => {
    const ro = await create(
      alice,
      'k8s',
      [{ type: 'dataset', source: 'corpus', target: '/data/corpus', read_only: true }],
      `ro${sfx}`,
    );
    const e = await apiError(alice.syncDatasets(ro.id));
    assert.equal(e.status, 422);
    assert.match(e.message, /no read-write dataset/);
    await alice.deleteEnvironment(ro.id);
    await eventually(async () => !(await alice.listEnvironments()).some((x) => x.id === ro.id), 'deleted', 60_000);
  });

  it("a store that can't scope, where the operator opted in: the env gets the store's own key", async () => {
    const made = await create(
      alice,
      'k8s',
      [{ type: 'dataset', source: 'optedin', target: '/d', read_only: true }],
      `optin${sfx}`,
    );
    const e = await alice.waitFor(made.id, ['running', 'failed'], { timeoutMs: 120_000 });
    assert.equal(e.status, 'running', e.status_message ?? '');
    const { core } = k8sApis();
    const secret = (await core.listNamespacedSecret({ namespace: nsOf(e) })).items.find((s) =>
      s.metadata!.name!.endsWith(`${e.id.slice(0, 8)}-datasets`),
    )!;
    const id = Buffer.from(secret.data!['ds-0-access-key-id'], 'base64').toString();
    assert.equal(
      `AWS_ACCESS_KEY_ID=${id}`,
      /^AWS_ACCESS_KEY_ID=.*$/m.exec(readFileSync(S3_CREDENTIALS_FILE, 'utf8'))![0],
    );
    await alice.deleteEnvironment(e.id);
    await eventually(async () => !(await alice.listEnvironments()).some((x) => x.id === e.id), 'deleted', 60_000);
  });

  it('deleting the env revokes the key and removes its Secret and policy statements', async () => {
    await alice.deleteEnvironment(env.id);
    await eventually(async () => !(await alice.listEnvironments()).length, 'env deleted', 60_000);
    const err = await asEnv()
      .send(new GetObjectCommand({ Bucket: bucket, Key: `alice${sfx}/corpus/train/a.txt` }))
      .then(
        () => undefined,
        (e: Error) => e.name,
      );
    assert.equal(err, 'InvalidAccessKeyId');
    const policy = await testStore()
      .client.send(new GetBucketPolicyCommand({ Bucket: bucket }))
      .then(
        (r) => r.Policy ?? '',
        () => '',
      );
    assert.ok(!policy.includes(keys.id), 'no statement for the revoked account');
    const { core } = k8sApis();
    await eventually(
      async () =>
        !(await core.listNamespacedSecret({ namespace: nsOf(env) })).items.some((s) =>
          s.metadata!.name!.endsWith('-datasets'),
        ),
      'Secret deleted',
    );
  });
});
