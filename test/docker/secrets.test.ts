// Secrets never leak: API tokens, Jupyter tokens and generated private keys stay out of logs (at trace level),
// list responses and error text.
import assert from 'node:assert/strict';
import { ApiError, HangarClient } from '../../common/client';
import { startDaemon } from '../helpers/daemon';
import { JUPYTER_IMAGE } from '../helpers/docker';

describe('docker: secrets stay secret', function () {
  this.timeout(180_000);

  it('no token, password or private key in logs, lists or errors', async () => {
    const lines: string[] = [];
    const d = await startDaemon({ logLines: lines });
    try {
      const { token: userToken } = await d.admin.createUser('carol');
      const carol = new HangarClient({ url: d.url, token: userToken });
      const key = await carol.request<{ private_key: string }>('POST', '/api/v1/ssh-keys', { generate: true });
      const env = await carol.createEnvironment({
        name: 'nb',
        image: JUPYTER_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'ide',
      });
      await carol.waitFor(env.id, ['running']);
      const conn = await carol.connection('nb');
      const rotated = await carol.request<{ jupyter: { token: string } }>(
        'POST',
        `/api/v1/environments/${env.id}/rotate`,
        { secret: 'jupyter_token' },
      );
      // Wrong tokens and bad input produce errors: their text must not echo secrets either.
      const errors: string[] = [];
      for (const p of [
        new HangarClient({ url: d.url, token: `${userToken}x` }).listEnvironments(),
        carol.createEnvironment({ name: 'Bad Name', image: 'x', env_vars: { SECRET: conn.jupyter!.token } }),
        d.admin.request('GET', `/api/v1/environments/${env.id}/jupyter/api/status`),
      ]) {
        errors.push(
          await p.then(
            (x) => JSON.stringify(x),
            (e: ApiError) => e.message,
          ),
        );
      }
      const lists = JSON.stringify([
        await carol.listEnvironments(),
        await d.admin.listEnvironments(),
        await carol.getEnvironment(env.id),
      ]);
      const logs = lines.join('');
      assert.ok(logs.length > 1000, 'the daemon logged at trace level');
      const privateBody = key.private_key.split('\n')[2];
      for (const [name, secret] of Object.entries({
        admin: d.token,
        user: userToken,
        jupyter: conn.jupyter!.token,
        rotated: rotated.jupyter.token,
        privateKey: privateBody,
      })) {
        assert.ok(!logs.includes(secret), `${name} in logs`);
        assert.ok(!lists.includes(secret), `${name} in list responses`);
        for (const e of errors)
          assert.ok(
            !e.includes(secret) || (name === 'jupyter' && e.startsWith('{')),
            `${name} in error text: ${e.slice(0, 200)}`,
          );
      }
      await carol.deleteEnvironment(env.id);
    } finally {
      await d.close();
    }
  });
});
