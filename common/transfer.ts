// Bulk bytes to and from the gateway on node:http(s) streams, for dataset uploads and downloads: fetch (undici)
// moves a body through web streams, which on a busy machine cost as much CPU as the gateway's whole relay. The same
// agent as every other request (an https gateway's pin check), the same errors (ApiError, unreachable, TLS).
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TlsTrustError } from './tls/errors';

export interface TransferRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A stream (piped), or a whole string (a JSON request). */
  body?: Readable | string;
  signal?: AbortSignal;
  /** For https:// gateways: the client's pinned agent. */
  agent?: https.Agent;
}

/** Kept-alive sockets for plain-http gateways (each part of an upload is its own request). */
const plainAgent = new http.Agent({ keepAlive: true });

export interface TransferFailure {
  status: number;
  body: string;
}

/** How often a request whose kept-alive socket was found closed is sent again (each on another socket). */
const RESENDS = 3;

/** The answer once its head is in (2xx), or a TransferFailure with the error body, or the network error. */
export function transfer(r: TransferRequest, resent = 0): Promise<http.IncomingMessage> {
  const mod = r.url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(r.url, {
      method: r.method,
      headers: r.headers,
      agent: r.agent ?? (mod === http ? plainAgent : undefined),
      signal: r.signal,
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed (its idle timeout) just as it was reused: the server never read the
      // request, so one that can be sent again is (Node's documented pattern); a stream body can't be.
      const stale = req.reusedSocket && err.code === 'ECONNRESET' && !(r.body instanceof Readable);
      if (stale && resent < RESENDS && !r.signal?.aborted) return void transfer(r, resent + 1).then(resolve, reject);
      reject(err);
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 502;
      if (status < 400) return resolve(res);
      let body = '';
      res.setEncoding('utf8');
      // An error answer is a small JSON body: keep its first 64 KiB.
      res.on('data', (c: string) => {
        if (body.length < 65_536) body += c;
      });
      res.once('end', () => reject(Object.assign(new Error(`HTTP ${status}`), { failure: { status, body } })));
      res.once('error', reject);
    });
    if (r.body instanceof Readable)
      // A body the gateway refused early (a 4xx before it read it all) ends the pipe with an error: the answer wins.
      pipeline(r.body, req).catch((err: unknown) => req.destroy(err as Error));
    else req.end(r.body);
  });
}

/** A (small) answer's whole text. */
export async function readText(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const c of res) text += c as string;
  return text;
}

/** The failure of a transfer() (an HTTP error answer), or undefined for a network error. */
export function failureOf(err: unknown): TransferFailure | undefined {
  return (err as { failure?: TransferFailure }).failure;
}

export const isTlsRefusal = (err: unknown) =>
  err instanceof TlsTrustError || (err as Error).cause instanceof TlsTrustError;
