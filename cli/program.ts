// The `hangar` command tree: global options, then one register function per command group (cli/commands/).
import { Command } from 'commander';
import { VERSION } from '../common/version';
import { accountCommands } from './commands/account';
import { createCommand } from './commands/create';
import { datasetCommands } from './commands/datasets';
import { environmentCommands } from './commands/environments';
import { inventoryCommands } from './commands/inventory';
import { auditCommands } from './commands/audit';
import { loginCommands } from './commands/login';
import { profileCommands } from './commands/profiles';
import { sshCommands } from './commands/ssh';
import { storageCommands } from './commands/storage';
import { backupCommands, snapshotCommands } from './commands/backups';
import { vmCommands } from './commands/vms';
import { cliContext, type GlobalOptions } from './context';

export function buildProgram(): Command {
  const program = new Command('hangar')
    .description('Hangar: GPU development environments on your own machines')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--url <url>', 'gateway URL (default: HANGAR_URL or the last login)')
    .option('--json', 'machine-readable output')
    .option(
      '--config-dir <dir>',
      'where logins, the SSH key and pinned host keys live (default: HANGAR_CONFIG_DIR or ~/.config/hangar)',
    )
    .option(
      '--ca-file <file>',
      'https gateways: also trust the CAs in this PEM file (default: HANGAR_CA_FILE, or the one given at login)',
    )
    .showHelpAfterError();
  program.hook('preAction', () => {
    const dir = program.opts<{ configDir?: string }>().configDir;
    if (dir) process.env.HANGAR_CONFIG_DIR = dir;
  });
  const ctx = cliContext(() => program.opts<GlobalOptions>());
  for (const register of [
    loginCommands,
    environmentCommands,
    createCommand,
    sshCommands,
    accountCommands,
    inventoryCommands,
    vmCommands,
    storageCommands,
    datasetCommands,
    snapshotCommands,
    backupCommands,
    profileCommands,
    auditCommands,
  ]) {
    register(program, ctx);
  }
  return program;
}
