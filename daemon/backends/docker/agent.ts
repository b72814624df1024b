// hangar-agent into a container before its first start, through the archive API (no registry, no exec): skipped
// when the container (its image) already has the same version at AGENT_VERSION_PATH.
import type Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import { AGENT_PATH, AGENT_VERSION_PATH, type AgentArch, type AgentPayload } from '../../contract';
import { streamToBuffer } from '../shared/streams';
import { bootFilesArchive } from './engineFormats';

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

/** Copies the agent in unless the same version is there; returns whether it copied. */
export async function placeAgent(
  container: Dockerode.Container,
  agent: AgentPayload,
  engineArch: () => Promise<string | undefined>,
): Promise<boolean> {
  if ((await presentVersion(container)) === agent.version) return false;
  const binary = await agent.binary(agentArch(await engineArch()));
  const archive = await bootFilesArchive([
    { path: AGENT_PATH, content: binary, mode: 0o755 },
    { path: AGENT_VERSION_PATH, content: agent.version + '\n', mode: 0o644 },
  ]);
  await container.putArchive(archive, { path: '/' });
  return true;
}
