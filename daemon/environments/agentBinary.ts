// Where the daemon finds hangar-agent: dist/native/linux-<arch>/hangar-agent beside its bundle (scripts/build-native.sh
// puts it there), or the config's agent_dir. Read when a backend copies it in; a missing one is a 422 naming the fix.
import fs from 'node:fs';
import path from 'node:path';
import type { AgentArch, AgentPayload } from '../contract';
import { UnprocessableError } from '../errors';

/** Next to the bundle (dist/hangard.js → dist/native); from the sources (tsx) the same repository's dist/native. */
export function defaultAgentDir(): string {
  const beside = path.join(__dirname, 'native');
  return fs.existsSync(beside) ? beside : path.resolve(__dirname, '../../dist/native');
}

export function agentPayload(dir: string): AgentPayload {
  const cache = new Map<AgentArch, Buffer>();
  const versionFile = path.join(dir, 'linux-amd64', 'hangar-agent.version');
  let version = 'missing';
  try {
    version = fs.readFileSync(versionFile, 'utf8').trim();
  } catch {
    // Reported at the first create that needs it (below), not at start: envs with ssh_server image don't.
  }
  return {
    version,
    async binary(arch) {
      const hit = cache.get(arch);
      if (hit) return hit;
      const file = path.join(dir, `linux-${arch}`, 'hangar-agent');
      const buf = await fs.promises.readFile(file).catch(() => {
        throw new UnprocessableError(
          `hangar-agent for linux/${arch} is not at ${file}: build it (npm run build:native, needs Go) or create the env with ssh_server image`,
        );
      });
      cache.set(arch, buf);
      return buf;
    },
  };
}
