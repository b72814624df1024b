// Images on one engine: present or not, pulled when the policy says so, their labels and ID. A create asks about
// its image several times within a moment (the POST's check, provisioning's pull policy, the image's labels, the
// agent's image): one inspect answers them all, kept for INSPECT_TTL_MS (a pull forgets it at once).
import type Dockerode from 'dockerode';
import type { ImageInspectInfo } from 'dockerode';
import type { PullPolicy } from '../../../common/model';
import { BackendUnavailableError, InputError, UnprocessableError } from '../../errors';
import type { ProgressFn } from '../../contract';
import { dockerMessage, statusCode } from './engineFormats';

const INSPECT_TTL_MS = 2_000;

export interface DockerImagesOptions {
  id: string;
  docker: Dockerode;
  call: <T>(fn: () => Promise<T>) => Promise<T>;
  allowPulls: boolean;
}

export class DockerImages {
  private readonly inspected = new Map<string, { at: number; info: Promise<ImageInspectInfo | undefined> }>();

  constructor(private readonly o: DockerImagesOptions) {}

  /** The image's inspect, or undefined when the engine doesn't have it. */
  inspect(image: string): Promise<ImageInspectInfo | undefined> {
    const now = Date.now();
    const hit = this.inspected.get(image);
    if (hit && hit.at > now - INSPECT_TTL_MS) return hit.info;
    for (const [k, v] of this.inspected) if (v.at <= now - INSPECT_TTL_MS) this.inspected.delete(k);
    const info = this.o
      .call(() => this.o.docker.getImage(image).inspect())
      .catch((err: unknown) => {
        if (statusCode(err) === 404) return undefined;
        // The engine's own reference rules (e.g. repository names are lowercase) are stricter than the API's.
        if (statusCode(err) === 400) throw new InputError('image', `image: ${dockerMessage(err)}`);
        throw err;
      });
    this.inspected.set(image, { at: now, info });
    info.catch(() => this.inspected.delete(image)); // a failure is not remembered
    return info;
  }

  async labels(image: string): Promise<Record<string, string>> {
    const i = await this.inspect(image);
    return (i?.Config?.Labels as Record<string, string> | null | undefined) ?? {};
  }

  async ensure(image: string, policy: PullPolicy, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void> {
    const present = (await this.inspect(image)) !== undefined;
    if (policy === 'never' || !this.o.allowPulls) {
      const why =
        policy === 'never' ? "image_pull_policy is 'never'" : 'it does not pull images (allow_image_pulls: false)';
      if (!present)
        throw new UnprocessableError(
          `image '${image}' is not present on backend '${this.o.id}' and ${why}`,
          'image_unavailable',
        );
      return;
    }
    if (policy === 'if-not-present' && present) return;
    onProgress?.(`pulling ${image}`);
    this.inspected.delete(image);
    try {
      await this.pull(image, onProgress, signal);
    } catch (err) {
      if (err instanceof BackendUnavailableError) throw err;
      const hint = present ? ' (a local copy exists; use image_pull_policy if-not-present to use it)' : '';
      throw new UnprocessableError(
        `image '${image}' could not be pulled on backend '${this.o.id}': ${dockerMessage(err)}${hint}`,
        'image_unavailable',
      );
    } finally {
      this.inspected.delete(image);
    }
  }

  private async pull(image: string, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void> {
    const docker = this.o.docker;
    const stream = await this.o.call(() => docker.pull(image, { abortSignal: signal } as object));
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (ev: { status?: string; progress?: string }) => {
          if (ev.status) onProgress?.(`${ev.status}${ev.progress ? ' ' + ev.progress : ''}`);
        },
      );
    });
  }
}
