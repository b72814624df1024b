// The datasets API for the CLI and the extension (no vscode here): the catalogue calls, and transfers through the
// gateway with progress, cancel (an AbortSignal) and resume: big files go as a multipart upload whose id and done
// parts are kept in a small state file, so a cut connection resumes from the last part; downloads resume by Range.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HangarClient } from './client';
import type { Dataset, DatasetObject, ObjectStoreStatus } from './model';
import type { CreateDatasetInput } from './datasets';

/** Parts of this size (S3 wants ≥ 5 MiB); files up to one part go in one PUT. */
export const PART_BYTES = 16 * 1024 * 1024;
const PARALLEL_PARTS = 4;

export interface Progress {
  bytes: number;
  total: number;
  /** Bytes per second since the transfer started. */
  rate: number;
  file?: string;
}
export interface TransferOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Where resume state files live (default: no resume state). */
  stateDir?: string;
  /** A multipart upload's part the store acknowledged. */
  onPart?: (part: number) => void;
}

const enc = encodeURIComponent;
const ds = (ref: string) => `/api/v1/datasets/${enc(ref)}`;

export const datasetApi = {
  stores: (c: HangarClient) => c.request<ObjectStoreStatus[]>('GET', '/api/v1/object-stores'),
  list: (c: HangarClient) => c.request<Dataset[]>('GET', '/api/v1/datasets'),
  get: (c: HangarClient, ref: string) => c.request<Dataset>('GET', ds(ref)),
  create: (c: HangarClient, req: CreateDatasetInput) => c.request<Dataset>('POST', '/api/v1/datasets', req),
  remove: (c: HangarClient, ref: string, deleteObjects = false) =>
    c.request<void>('DELETE', `${ds(ref)}${deleteObjects ? '?delete_objects=true' : ''}`),
  objects: (c: HangarClient, ref: string, prefix?: string) =>
    c.request<DatasetObject[]>('GET', `${ds(ref)}/objects${prefix ? `?prefix=${enc(prefix)}` : ''}`),
  presign: (c: HangarClient, ref: string, key: string, method: 'get' | 'put' = 'get') =>
    c.request<{ url: string; method: string; expires_at: string }>('POST', `${ds(ref)}/presign`, { key, method }),
};

/** Counts bytes as they pass, for progress. */
function counter(add: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      add(chunk.length);
      done(null, chunk);
    },
  });
}

/** A file's bytes, counted; a read error ends the stream with it. */
function countedFile(file: string, add: (n: number) => void, range?: { start: number; end: number }): Readable {
  const src = fs.createReadStream(file, range);
  const out = counter(add);
  src.once('error', (err) => out.destroy(err));
  return src.pipe(out);
}

async function json(res: IncomingMessage): Promise<unknown> {
  let text = '';
  res.setEncoding('utf8');
  for await (const c of res) text += c as string;
  return JSON.parse(text);
}

function meter(total: number, o: TransferOptions, file?: string) {
  const t0 = Date.now();
  let bytes = 0;
  return (n: number) => {
    bytes += n;
    const s = Math.max((Date.now() - t0) / 1000, 1e-3);
    o.onProgress?.({ bytes, total, rate: bytes / s, file });
  };
}

interface ResumeState {
  upload_id: string;
  key: string;
  size: number;
  mtime: number;
}

/** Uploads one file to `key`; big ones part by part (resumable when stateDir is given). */
export async function uploadFile(c: HangarClient, ref: string, file: string, key: string, o: TransferOptions = {}) {
  const st = fs.statSync(file);
  const add = meter(st.size, o, file);
  if (st.size <= PART_BYTES) {
    const res = await c.transfer('PUT', `${ds(ref)}/object?key=${enc(key)}`, {
      body: countedFile(file, add),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(st.size) },
      signal: o.signal,
    });
    return (await json(res)) as DatasetObject;
  }
  const stateFile = o.stateDir && path.join(o.stateDir, stateName(c.url, ref, key, file));
  const state = await resumeOrStart(c, ref, key, st, stateFile);
  const have = await c.request<{ parts: { part: number; etag: string; size: number }[] }>(
    'GET',
    `${ds(ref)}/uploads/${enc(state.upload_id)}?key=${enc(key)}`,
  );
  const done = new Map(have.parts.map((p) => [p.part, p.etag]));
  const count = Math.ceil(st.size / PART_BYTES);
  const resumed = have.parts.reduce((n, p) => n + p.size, 0);
  if (resumed) add(resumed);
  const todo = [...Array(count).keys()].map((i) => i + 1).filter((n) => !done.has(n));
  const worker = async () => {
    for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
      const start = (n - 1) * PART_BYTES;
      const len = Math.min(PART_BYTES, st.size - start);
      const res = await c.transfer('PUT', `${ds(ref)}/uploads/${enc(state.upload_id)}/parts/${n}?key=${enc(key)}`, {
        body: countedFile(file, add, { start, end: start + len - 1 }),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(len) },
        signal: o.signal,
      });
      done.set(n, ((await json(res)) as { etag: string }).etag);
      o.onPart?.(n);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
  const parts = [...done.entries()].map(([part, etag]) => ({ part, etag }));
  const obj = await c.request<DatasetObject>('POST', `${ds(ref)}/uploads/${enc(state.upload_id)}/complete`, {
    key,
    parts,
  });
  if (stateFile) fs.rmSync(stateFile, { force: true });
  return obj;
}

/** The upload a state file remembers (same file, same size and mtime, still known to the store), or a new one. */
async function resumeOrStart(c: HangarClient, ref: string, key: string, st: fs.Stats, stateFile?: string) {
  if (stateFile && fs.existsSync(stateFile)) {
    const s = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ResumeState;
    if (s.size === st.size && s.mtime === st.mtimeMs && s.key === key) {
      const alive = await c
        .request('GET', `${ds(ref)}/uploads/${enc(s.upload_id)}?key=${enc(key)}`)
        .then(() => true)
        .catch(() => false);
      if (alive) return s;
    }
  }
  const r = await c.request<{ upload_id: string }>('POST', `${ds(ref)}/uploads`, { key });
  const s: ResumeState = { upload_id: r.upload_id, key, size: st.size, mtime: st.mtimeMs };
  if (stateFile) {
    fs.mkdirSync(path.dirname(stateFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(stateFile, JSON.stringify(s), { mode: 0o600 });
  }
  return s;
}

const stateName = (url: string, ref: string, key: string, file: string) =>
  `${crypto
    .createHash('sha256')
    .update(JSON.stringify([url, ref, key, path.resolve(file)]))
    .digest('hex')
    .slice(0, 32)}.json`;

/** Aborts the multipart upload a state file remembers (a cancel that shouldn't resume later). */
export async function abandonUpload(c: HangarClient, ref: string, file: string, key: string, stateDir: string) {
  const f = path.join(stateDir, stateName(c.url, ref, key, file));
  if (!fs.existsSync(f)) return;
  const s = JSON.parse(fs.readFileSync(f, 'utf8')) as ResumeState;
  await c.request('DELETE', `${ds(ref)}/uploads/${enc(s.upload_id)}?key=${enc(key)}`).catch(() => undefined);
  fs.rmSync(f, { force: true });
}

/** The files under `dir` as [path, key] pairs, keys under `prefix` with "/" separators. */
export function filesUnder(dir: string, prefix: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.isFile()) out.push([path.join(d, e.name), prefix ? `${prefix}/${r}` : r]);
    }
  };
  walk(dir, '');
  return out;
}

/** Downloads `key` to `dest` (through dest.part, renamed when whole; a .part left by a cut resumes by Range). Big
 *  objects come as ranges of PART_BYTES, PARALLEL_PARTS at a time, appended in order, so the .part file is always
 *  a prefix of the object; every range must carry the first one's ETag (an object replaced meanwhile fails). */
export async function downloadFile(c: HangarClient, ref: string, key: string, dest: string, o: TransferOptions = {}) {
  const part = `${dest}.part`;
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  // One failed range (or the caller's cancel) stops the others.
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  const get = (range?: string) =>
    c.transfer('GET', `${ds(ref)}/object?key=${enc(key)}`, { headers: range ? { range } : {}, signal });
  // The first range says how big the object is. 416: nothing from `have` on — an empty object (read it whole), or
  // a .part already whole (cut before its rename).
  const first = await get(`bytes=${have}-${have + PART_BYTES - 1}`).catch((e: unknown) => {
    if ((e as ApiErrorLike).status === 416) return have === 0 ? get() : undefined;
    throw e;
  });
  if (!first) return fs.renameSync(part, dest);
  const total = first.statusCode === 206 ? totalOf(first) : Number(first.headers['content-length'] ?? 0);
  const from = first.statusCode === 206 ? have : 0;
  const add = meter(total, o, dest);
  if (from) add(from);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const out = fs.createWriteStream(part, { flags: from ? 'a' : 'w' });
  const etag = first.headers.etag;
  const next = nextRanges(from + Number(first.headers['content-length'] ?? 0), first.statusCode === 206 ? total : 0);
  const inFlight: Promise<Buffer[]>[] = [];
  const fetchRange = (i: number) => {
    if (i >= next.length) return;
    const p = bytesOf(get(next[i]), etag);
    p.catch(() => stop.abort()); // awaited below in order; this only stops the rest early
    inFlight.push(p);
  };
  for (let i = 0; i < PARALLEL_PARTS - 1; i++) fetchRange(i);
  try {
    await pipeline(first, counter(add), out, { end: false, signal });
    for (let i = 0; i < next.length; i++) {
      fetchRange(i + PARALLEL_PARTS - 1);
      // Corked: the range's chunks go to the file as one writev, not one write (and thread-pool job) each.
      const chunks = await inFlight[i];
      out.cork();
      let full = false;
      for (const buf of chunks) full = !out.write(buf) || full;
      out.uncork();
      add(chunks.reduce((n, b) => n + b.length, 0));
      if (full) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  } catch (e) {
    stop.abort();
    throw e;
  } finally {
    if (!out.destroyed) await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  fs.renameSync(part, dest);
}

interface ApiErrorLike {
  status?: number;
}

/** The ranges after `at` up to `total` (exclusive), PART_BYTES each. */
function nextRanges(at: number, total: number): string[] {
  const out: string[] = [];
  for (let s = at; s < total; s += PART_BYTES) out.push(`bytes=${s}-${Math.min(s + PART_BYTES, total) - 1}`);
  return out;
}

function totalOf(res: IncomingMessage): number {
  const m = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
  if (!m) throw new Error(`the gateway's answer has no usable Content-Range (${res.headers['content-range']})`);
  return Number(m[1]);
}

async function bytesOf(p: Promise<IncomingMessage>, etag: string | undefined): Promise<Buffer[]> {
  const res = await p;
  if (etag && res.headers.etag !== etag) {
    res.destroy();
    throw new Error('the object changed during the download (its ETag moved on): download it again');
  }
  // Kept as the socket gave them: one 16 MiB copy per range less, and less for the GC to trace.
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return chunks;
}
