// The operator's object stores: strict, credentials from a file or named environment variables, and errors that
// name where credentials were looked for but never a value.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../daemon/config';
import { readCredentials } from '../../daemon/objectstore/config';
import { tmpDir } from '../helpers/tmp';

const yaml = (s: string) => {
  const file = path.join(tmpDir(), 'c.yaml');
  fs.writeFileSync(file, s);
  return () => loadConfig({ argv: ['--config', file] });
};

describe('config: object_stores', () => {
  it('parses a store with defaults (path-style, presigned URLs, everyone may use it)', () => {
    const c = yaml(
      'object_stores:\n  - {name: lab, endpoint: "http://10.0.0.9:9000", credentials: {file: /etc/hangar/s3.env}}\n',
    )();
    assert.deepEqual(c.object_stores, [
      {
        name: 'lab',
        endpoint: 'http://10.0.0.9:9000',
        region: 'us-east-1',
        path_style: true,
        credentials: { file: '/etc/hangar/s3.env' },
        presign: true,
        users: ['*'],
        teams: [],
        timeout_ms: 30_000,
        scoping: 'none',
        full_credentials_to_envs: false,
      },
    ]);
  });

  it('refuses a secret written into the config, an unknown key and a duplicate name, naming the field', () => {
    assert.throws(
      yaml('object_stores:\n  - {name: a, endpoint: "http://h", credentials: {secret_access_key: s3cr3t}}\n'),
      /object_stores\.0\.credentials/,
    );
    assert.throws(
      yaml('object_stores:\n  - {name: a, endpoint: "http://h", credentials: {file: f}, bucket: x}\n'),
      /bucket/,
    );
    assert.throws(
      yaml(
        'object_stores:\n  - {name: a, endpoint: "http://h", credentials: {file: f}}\n  - {name: a, endpoint: "http://g", credentials: {file: f}}\n',
      ),
      /object_stores\.1\.name: duplicate name 'a'/,
    );
  });

  it('reads credentials from a KEY=VALUE file or from the named variables; errors carry no value', () => {
    const file = path.join(tmpDir(), 's3.env');
    fs.writeFileSync(file, '# lab store\nexport AWS_ACCESS_KEY_ID="AKIA1"\nAWS_SECRET_ACCESS_KEY=top-secret-value\n');
    const store = yaml(`object_stores:\n  - {name: lab, endpoint: "http://h", credentials: {file: ${file}}}\n`)()
      .object_stores[0];
    assert.deepEqual(readCredentials(store), {
      accessKeyId: 'AKIA1',
      secretAccessKey: 'top-secret-value',
      sessionToken: undefined,
    });

    fs.writeFileSync(file, 'AWS_ACCESS_KEY_ID=AKIA1\nAWS_SECRET_ACCESS_KEY=\n');
    assert.throws(
      () => readCredentials(store),
      /object_stores 'lab': .* needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    assert.throws(() => readCredentials({ ...store, credentials: { file: '/nonexistent/s3.env' } }), /ENOENT/);

    const env = { ...store, credentials: { access_key_id_env: 'LAB_ID', secret_access_key_env: 'LAB_SECRET' } };
    assert.deepEqual(readCredentials(env, { LAB_ID: 'id', LAB_SECRET: 'sec' }), {
      accessKeyId: 'id',
      secretAccessKey: 'sec',
    });
    assert.throws(
      () => readCredentials(env, { LAB_ID: 'id' }),
      (e: Error) => /LAB_SECRET must be set/.test(e.message) && !/id'/.test(e.message),
    );
  });
});
