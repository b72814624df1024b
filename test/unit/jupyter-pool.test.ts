// The Jupyter upstream pool (daemon/http/jupyterPool.ts) against a real HTTP server: requests reuse one kept-alive
// connection, nothing accumulates on it, an idle one is closed. The tunnel is stood in for by a TCP connect (the
// real tunnel through Docker is test/docker/jupyter.test.ts).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { EnvironmentService } from '../../daemon/environments/service';
import { JupyterPool } from '../../daemon/http/jupyterPool';
import type { User } from '../../common/model';

describe('Jupyter upstream pool', () => {
  it('reuses one connection for sequential requests, without piling listeners on it', async () => {
    const server = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const opened: net.Socket[] = [];
    const envs = {
      openTunnel: async () => {
        const s = net.connect(port, '127.0.0.1');
        opened.push(s);
        return s;
      },
    } as unknown as EnvironmentService;
    const pool = new JupyterPool(envs);
    try {
      for (let i = 0; i < 25; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.request({ agent: pool.agentFor('env-1', { id: 'u' } as User), path: '/api/status' }, (r) => {
            let b = '';
            r.on('data', (c: Buffer) => (b += c.toString()));
            r.on('end', () => setImmediate(() => resolve(b)));
          });
          req.on('error', reject);
          req.end();
        });
        assert.equal(body, 'ok');
      }
      assert.equal(opened.length, 1, 'one tunnel for all of them');
      assert.ok(opened[0].listenerCount('error') <= 2, `error listeners: ${opened[0].listenerCount('error')}`);
    } finally {
      pool.close();
      server.close();
    }
  });
});
