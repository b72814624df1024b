// Byte streams into an env's pod: logs, port-forward, exec, and files written into the running pod.
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import { Exec, Log, PortForward, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import { BOOT_DIR, type BootFile, type ExecResult, type LogOptions } from '../../contract';
import { shq } from '../shared/streams';
import { failedAs, MERGE, parseRef, type Ref } from './api';
import type { K8sClient } from './client';
import { bootKey, CONTAINER, MODES_KEY, modesText, parseModes } from './conventions';
import { podsOf } from './workloads';

/** The newest live pod of the env (for logs, exec, port-forward). */
export async function pod(c: K8sClient, r: Ref, needRunning = true): Promise<V1Pod> {
  const stamp = (p: V1Pod) => String(p.metadata?.creationTimestamp?.toISOString?.() ?? '');
  const pods = (await podsOf(c, r)).sort((a, b) => stamp(b).localeCompare(stamp(a)));
  const p = needRunning ? pods.find((x) => x.status?.phase === 'Running') : pods[0];
  if (!p)
    throw new UnprocessableError(
      needRunning ? 'environment is not running (no running pod)' : 'environment has no pod',
    );
  return p;
}

export async function logs(c: K8sClient, ref: string, opts: LogOptions): Promise<Readable> {
  const r = parseRef(ref);
  const name = (await pod(c, r, false)).metadata!.name!;
  const unavailable = failedAs(`logs of pod ${name} are not available`, 'logs_unavailable');
  const out = new PassThrough();
  if (!opts.follow) {
    const text = await c
      .call(() =>
        c.core.readNamespacedPodLog({
          name,
          namespace: r.namespace,
          container: CONTAINER,
          tailLines: opts.tail ?? 100,
          timestamps: opts.timestamps,
        }),
      )
      .catch(unavailable);
    out.end(text);
    return out;
  }
  // client-node's Log drops the API server's message on errors: probe without follow first to surface it.
  await c
    .call(() => c.core.readNamespacedPodLog({ name, namespace: r.namespace, container: CONTAINER, limitBytes: 1 }))
    .catch(unavailable);
  const aborter = await c
    .call(() =>
      new Log(c.kc).log(r.namespace, name, CONTAINER, out, {
        follow: true,
        tailLines: opts.tail ?? 100,
        timestamps: opts.timestamps,
      }),
    )
    .catch(unavailable);
  const stop = () => aborter.abort();
  opts.signal?.addEventListener('abort', stop, { once: true });
  out.on('close', stop);
  return out;
}

/** A byte stream to `port` of the env's pod through the API server's port-forward subresource. */
export async function openPort(c: K8sClient, ref: string, port: number): Promise<Duplex> {
  const r = parseRef(ref);
  const p = await pod(c, r);
  const input = new PassThrough();
  let socket: { close(): void; on(ev: string, cb: (...a: any[]) => void): void } | undefined;
  const duplex = new Duplex({
    read() {
      /* pushed from the socket */
    },
    write(chunk, _enc, cb) {
      input.write(chunk, cb);
    },
    final(cb) {
      input.end();
      cb();
    },
    destroy(err, cb) {
      input.destroy();
      try {
        socket?.close();
      } catch {
        /* closed */
      }
      cb(err);
    },
  });
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (chunk.length) duplex.push(chunk);
      cb();
    },
  });
  // The error channel carries only errors (kwok: "no forward found for port N"; kubelet: connection refused).
  const errors = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (chunk.length) duplex.destroy(new Error(chunk.toString().trim()));
      cb();
    },
  });
  try {
    const ws = await c.call(() =>
      new PortForward(c.kc).portForward(r.namespace, p.metadata!.name!, [port], output, errors, input),
    );
    socket = ws as unknown as typeof socket;
  } catch (err) {
    input.destroy();
    if (err instanceof BackendUnavailableError) throw err;
    const msg = (err as { message?: string })?.message ?? String(err);
    throw new UnprocessableError(
      `port-forward to ${r.namespace}/${p.metadata!.name}:${port} failed: ${msg}`,
      'port_unreachable',
    );
  }
  socket!.on('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });
  socket!.on('error', (e: Error) => duplex.destroy(e));
  return duplex;
}

export async function exec(
  c: K8sClient,
  ref: string,
  cmd: string[],
  opts: { user?: string; stdin?: string; container?: string } = {},
): Promise<ExecResult> {
  const r = parseRef(ref);
  const name = (await pod(c, r)).metadata!.name!;
  const argv = opts.user ? ['su', '-s', '/bin/sh', opts.user, '-c', cmd.map(shq).join(' ')] : cmd;
  let stdout = '';
  let stderr = '';
  const out = new Writable({
    write(ch: Buffer, _e, cb) {
      stdout += ch.toString();
      cb();
    },
  });
  const err = new Writable({
    write(ch: Buffer, _e, cb) {
      stderr += ch.toString();
      cb();
    },
  });
  const stdin = opts.stdin !== undefined ? (PassThrough.from([opts.stdin]) as unknown as Readable) : null;
  const status = await new Promise<V1Status>((resolve, reject) => {
    c.call(() =>
      new Exec(c.kc).exec(r.namespace, name, opts.container ?? CONTAINER, argv, out, err, stdin, false, resolve),
    ).then(
      (ws) => ws.on('close', () => resolve({ status: 'Unknown' } as V1Status)),
      (e) =>
        reject(
          e instanceof BackendUnavailableError
            ? e
            : new UnprocessableError(`exec in pod ${name} failed: ${(e as Error).message ?? e}`),
        ),
    );
  });
  const cause = status.details?.causes?.find((x) => x.reason === 'ExitCode');
  if (status.status !== 'Success' && !cause?.message) {
    throw new UnprocessableError(
      `exec in pod ${name} failed: ${[status.message, stderr.trim().split('\n').pop()].filter(Boolean).join(': ') || 'the stream closed without an exit status'}`,
    );
  }
  return { exitCode: cause?.message ? Number(cause.message) : 0, stdout, stderr };
}

/** Updates the boot Secret (so the next pod has the files) and, best effort, the copies in the running pod. */
export async function writeFiles(c: K8sClient, ref: string, files: BootFile[]): Promise<void> {
  if (files.length === 0) return;
  const r = parseRef(ref);
  const secretName = `${r.name}-boot`;
  const secret = await c.maybe(() => c.core.readNamespacedSecret({ name: secretName, namespace: r.namespace }));
  if (!secret) throw c.gone(`Secret ${r.namespace}/${secretName}`);
  const modes = parseModes(Buffer.from(secret.data?.[MODES_KEY] ?? '', 'base64').toString());
  const data: Record<string, string> = {};
  for (const f of files) {
    data[bootKey(f.path)] = Buffer.from(f.content).toString('base64');
    modes.set(bootKey(f.path), f.mode);
  }
  data[MODES_KEY] = Buffer.from(modesText(modes)).toString('base64');
  await c.call(() => c.core.patchNamespacedSecret({ name: secretName, namespace: r.namespace, body: { data } }, MERGE));
  const running = (await podsOf(c, r)).find((p) => p.status?.phase === 'Running');
  if (!running) return;
  for (const f of files) {
    const target = `${BOOT_DIR}/${bootKey(f.path)}`;
    const res = await exec(
      c,
      ref,
      ['/bin/sh', '-c', 'cat > "$1.new" && chmod "$2" "$1.new" && mv "$1.new" "$1"', 'sh', target, f.mode.toString(8)],
      { stdin: f.content.toString() },
    ).catch((err) => ({ exitCode: -1, stdout: '', stderr: (err as Error).message }));
    if (res.exitCode !== 0)
      c.log.warn(
        { ref, file: target, err: res.stderr.trim() },
        'file not updated in the running pod; the next start has it',
      );
  }
}
