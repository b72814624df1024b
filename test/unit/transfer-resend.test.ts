// common/transfer.ts against a real HTTP server that closes a kept-alive connection as a request arrives on it
// (what a server's idle timeout does when it crosses a reuse): the request goes again on a new connection.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { readText, transfer } from '../../common/transfer';

describe('transfer: a kept-alive socket found closed', () => {
  let server: http.Server;
  let url: string;
  const served = new WeakMap<net.Socket, number>();

  before(async () => {
    server = http.createServer((req, res) => {
      const n = served.get(req.socket) ?? 0;
      served.set(req.socket, n + 1);
      // The second request on a connection finds it closed, as if the idle timeout had fired just then.
      if (n >= 1) return void req.socket.destroy();
      req.resume();
      req.on('end', () => res.end(`${req.method} ok`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/x`;
  });
  after(() => server.close());

  it('sends a GET and a POST with a JSON body again on a new connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, body?: string) =>
      transfer({ method, url, headers: {}, body, agent: agent as never }).then(readText);
    assert.equal(await send('GET'), 'GET ok');
    assert.equal(await send('GET'), 'GET ok');
    assert.equal(await send('POST', '{"a":1}'), 'POST ok');
    agent.destroy();
  });

  it('does not send a stream body again: the error reaches the caller', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await transfer({ method: 'GET', url, headers: {}, agent: agent as never }).then(readText);
    await assert.rejects(
      transfer({ method: 'PUT', url, headers: {}, body: Readable.from(['part']), agent: agent as never }),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET',
    );
    agent.destroy();
  });
});
