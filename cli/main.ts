// hangar: the gateway API for people and scripts, and the SSH ProxyCommand.
import { exitCodeFor } from './errors';
import { buildProgram } from './program';

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`hangar: ${msg}\n`);
    process.exit(exitCodeFor(err));
  }
}

if (require.main === module) void main();
