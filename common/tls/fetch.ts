// A fetch over node:https with a given agent, for HangarClient: the global fetch (undici) can't use an
// https.Agent, and every request to a pinned gateway must go through the pin check. Covers what the client
// uses: method, headers, a string or streamed body, an abort signal; the answer streams (logs --follow).
import https from 'node:https';
import { Readable } from 'node:stream';

export function fetchWithAgent(agent: https.Agent): typeof fetch {
  return ((input: string | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const req = https.request(String(input), {
        method: init.method ?? 'GET',
        headers,
        agent,
        signal: init.signal ?? undefined,
      });
      req.once('response', (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers))
          for (const x of v === undefined ? [] : [v].flat()) h.append(k, x);
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || init.method === 'HEAD';
        if (empty) res.resume();
        resolve(
          new Response(empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage,
            headers: h,
          }),
        );
      });
      req.once('error', reject);
      const body = init.body as unknown;
      // A streamed body (uploads) is piped; a string is sent whole.
      if (body && typeof body === 'object' && Symbol.asyncIterator in body)
        Readable.from(body as AsyncIterable<Uint8Array>).pipe(req);
      else req.end(typeof body === 'string' ? body : undefined);
    })) as typeof fetch;
}
