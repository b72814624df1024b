// hangar-agent into a container before its first start, with its boot files through the archive API (no registry,
// no exec): skipped when the container's image already has the same version at AGENT_VERSION_PATH.
import type Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import { AGENT_PATH, AGENT_VERSION_PATH, type AgentArch, type AgentPayload, type BootFile } from '../../contract';
import { streamToBuffer } from '../shared/streams';

/** Docker's Architecture (uname -m of the engine's host) as Go names it. */
export function agentArch(engineArch: string | undefined): AgentArch {
  return engineArch === 'aarch64' || engineArch === 'arm64' ? 'arm64' : 'amd64';
}

/** The version file inside the container, or undefined when it has none. */
async function presentVersion(container: Dockerode.Container): Promise<string | undefined> {
  try {
    const stream = await container.getArchive({ path: AGENT_VERSION_PATH });
    const extract = tar.extract();
    let text: string | undefined;
    extract.on('entry', (_h, s, next) => {
      void streamToBuffer(s).then((b) => {
        text = b.toString('utf8').trim();
        next();
      });
    });
    stream.pipe(extract);
    await new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
    return text;
  } catch {
    return undefined;
  }
}

const IMAGES_KEPT = 256;

/** The agent's files for a new container, or none when its image already carries this version. What an image
 *  carries is asked once per image ID (an image never changes), not of every container made from it. */
export class AgentFiles {
  private readonly inImage = new Map<string, string | undefined>();

  async filesFor(
    container: Dockerode.Container,
    imageId: string | undefined,
    agent: AgentPayload,
    engineArch: () => Promise<string | undefined>,
  ): Promise<BootFile[]> {
    let present: string | undefined;
    if (imageId && this.inImage.has(imageId)) present = this.inImage.get(imageId);
    else {
      present = await presentVersion(container);
      if (imageId) this.remember(imageId, present);
    }
    if (present === agent.version) return [];
    return [
      { path: AGENT_PATH, content: await agent.binary(agentArch(await engineArch())), mode: 0o755 },
      { path: AGENT_VERSION_PATH, content: agent.version + '\n', mode: 0o644 },
    ];
  }

  private remember(imageId: string, version: string | undefined): void {
    if (this.inImage.size >= IMAGES_KEPT) this.inImage.delete(this.inImage.keys().next().value!);
    this.inImage.set(imageId, version);
  }
}
