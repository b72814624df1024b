// Docker volumes (and paths of an env's container) as tar streams through the engine's archive API. The volume is
// mounted into a helper container that is created and never started, from an image the engine already has (the
// env's own image: never a pull); only clearing a volume before a restore runs one, with no network and root's
// file capabilities alone. Helpers are removed whatever happens.
import { PassThrough, Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import * as tarStream from 'tar-stream';
import { ConflictError, UnprocessableError } from '../../errors';
import { LABELS, type TarExport, type VolumeArchiveCapability } from '../../contract';
import { dockerMessage, statusCode } from './engineFormats';

/** Where a helper mounts the volume; archives hold `hangar-volume/…` and are put back at `/`. */
const MOUNT = '/hangar-volume';
export const HELPER_LABEL = 'dev.hangar.helper';

type Call = <T>(fn: () => Promise<T>) => Promise<T>;

/** Makes (never starts) a helper container with the volume mounted at MOUNT, no network, root's file capabilities. */
function helperFactory(docker: () => Dockerode, call: Call, gatewayId: string) {
  return (image: string, volume: string, cmd?: string[]) =>
    call(() =>
      docker().createContainer({
        Image: image,
        ...(cmd ? { Entrypoint: cmd, Cmd: [] } : { Entrypoint: ['/bin/true'], Cmd: [] }),
        User: '0',
        Labels: { [HELPER_LABEL]: 'volume-archive', [LABELS.gateway]: gatewayId },
        HostConfig: {
          Mounts: [{ Type: 'volume', Source: volume, Target: MOUNT }],
          NetworkMode: 'none',
          CapDrop: ['ALL'],
          CapAdd: ['DAC_OVERRIDE', 'FOWNER', 'CHOWN'],
          SecurityOpt: ['no-new-privileges'],
        },
      }),
    );
}

export function dockerVolumeArchive(docker: () => Dockerode, call: Call, gatewayId: string): VolumeArchiveCapability {
  const helper = helperFactory(docker, call, gatewayId);
  const removeHelper = (c: Dockerode.Container) => c.remove({ force: true }).catch(() => undefined);

  return {
    volumeRoot: MOUNT.slice(1),
    async helperImage(images) {
      for (const image of images) {
        const ok = await call(() => docker().getImage(image).inspect()).then(
          () => true,
          (err) => (statusCode(err) === 404 ? false : Promise.reject(err)),
        );
        if (ok) return image;
      }
      throw new UnprocessableError(
        `no image to archive the volume with: the engine has none of ${images.length ? images.join(', ') : '(no env image known)'} (images are never pulled for this)`,
      );
    },
    async exportVolume(volume, image) {
      const c = await helper(image, volume);
      return streamed(
        () => call(() => c.getArchive({ path: MOUNT })),
        () => removeHelper(c),
      );
    },
    async importVolume(volume, tar, image, o) {
      const sh = (script: string) => runHelper(call, () => helper(image, volume, ['/bin/sh', '-c', script]));
      if (o.clear) await sh(`find ${MOUNT} -mindepth 1 -delete`);
      const root = firstHeader(tar);
      const c = await helper(image, volume);
      try {
        await call(() => c.putArchive(root.stream, { path: '/' }));
      } catch (err) {
        throw new UnprocessableError(`the engine refused the archive: ${dockerMessage(err)}`);
      } finally {
        await removeHelper(c);
      }
      // The engine leaves the mount point's own owner and mode as they were: put the archive's back (numbers only).
      const h = root.header();
      if (h) await sh(`chown ${h.uid}:${h.gid} ${MOUNT} && chmod ${h.mode.toString(8)} ${MOUNT}`);
    },
    async exportPath(ref, path) {
      return streamed(() => call(() => docker().getContainer(ref).getArchive({ path })));
    },
    async importPath(ref, path, tar, o) {
      const parent = path.replace(/\/[^/]+\/?$/, '') || '/';
      const c = docker().getContainer(ref);
      if (o?.replace) await refuseMountsInside(call, c, path);
      const base = path.replace(/\/+$/, '').split('/').pop();
      if (o?.replace && !base)
        throw new UnprocessableError(`an exact restore needs a directory below /, not '${path}'`);
      const body = o?.replace ? replacing(base!, tar) : tar;
      await call(() => c.putArchive(body, { path: parent }));
    },
  };
}

/** Mounts at or under `path` would be emptied through the container by a replace (a volume, a host directory): 409. */
async function refuseMountsInside(call: Call, c: Dockerode.Container, path: string): Promise<void> {
  const info = await call(() => c.inspect());
  const root = path.replace(/\/+$/, '');
  const inside = (info.Mounts ?? []).map((m) => m.Destination).filter((d) => d === root || d.startsWith(`${root}/`));
  if (inside.length)
    throw new ConflictError(
      `${inside.join(', ')} ${inside.length > 1 ? 'are mounts' : 'is a mount'} inside ${root}: an exact restore of ${root} would empty ${inside.length > 1 ? 'them' : 'it'}; nothing was restored`,
    );
}

/** The archive led by an empty file named `base`: the engine, extracting in order, removes what is at `base` to put
 *  that file there, then replaces the file by the archive's `base/` directory — so only the archive's content is
 *  left, in one extraction (Docker replaces any existing entry unless both are directories). */
function replacing(base: string, tar: Readable): Readable {
  const pack = tarStream.pack();
  pack.entry({ name: base, size: 0, mode: 0o600 }, Buffer.alloc(0));
  pack.finalize();
  return Readable.from(
    (async function* () {
      const head: Buffer[] = [];
      for await (const chunk of pack) head.push(chunk as Buffer);
      // One 512-byte header; the two zero blocks that end the packed archive are dropped.
      yield Buffer.concat(head).subarray(0, 512);
      yield* tar;
    })(),
  );
}

/** The archive passed through, with the owner and mode of its first entry (the volume's root) once read. */
function firstHeader(tar: Readable): {
  stream: Readable;
  header: () => { uid: number; gid: number; mode: number } | undefined;
} {
  let head = Buffer.alloc(0);
  const out = new PassThrough();
  tar.on('data', (chunk: Buffer) => {
    if (head.length < 512) head = Buffer.concat([head, chunk.subarray(0, 512 - head.length)]);
  });
  tar.once('error', (e) => out.destroy(e));
  tar.pipe(out);
  const num = (from: number, len: number) =>
    Number.parseInt(
      head
        .subarray(from, from + len)
        .toString('latin1')
        .replace(/\0.*$/s, '')
        .trim(),
      8,
    );
  return {
    stream: out,
    header: () => {
      if (head.length < 512) return undefined;
      const [mode, uid, gid] = [num(100, 8) & 0o7777, num(108, 8), num(116, 8)];
      return [mode, uid, gid].every(Number.isInteger) ? { uid, gid, mode } : undefined;
    },
  };
}

/** Runs a helper to its end; a non-zero exit is a 422 with what it printed. */
async function runHelper(call: Call, make: () => Promise<Dockerode.Container>): Promise<void> {
  const c = await make();
  try {
    await call(() => c.start());
    const r = (await call(() => c.wait())) as { StatusCode: number };
    if (r.StatusCode !== 0) {
      const logs = await c.logs({ stdout: true, stderr: true }).catch(() => Buffer.from(''));
      throw new UnprocessableError(`the volume helper failed (exit ${r.StatusCode}): ${String(logs).slice(-300)}`);
    }
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/** The engine's archive stream, passed through so `done` says whether it ended whole; cleanup runs after. */
async function streamed(
  open: () => Promise<NodeJS.ReadableStream>,
  cleanup?: () => Promise<unknown>,
): Promise<TarExport> {
  let src: NodeJS.ReadableStream;
  try {
    src = await open();
  } catch (err) {
    await cleanup?.();
    throw err;
  }
  const out = new PassThrough();
  const done = new Promise<void>((resolve, reject) => {
    src.once('error', (e) => {
      out.destroy(e as Error);
      reject(e);
    });
    out.once('finish', () => resolve());
    out.once('close', () => (out.writableFinished ? resolve() : reject(new Error('archive stream cut'))));
  }).finally(() => cleanup?.());
  done.catch(() => undefined);
  src.pipe(out);
  return { stream: out as Readable, done };
}
