// Registers every command from one typed table, each wrapped with the same error handling.
import * as vscode from 'vscode';
import { ApiError } from '../../common/client';
import { COMMAND_IDS, type CommandId } from './commandIds';

export type CommandHandler = (...args: any[]) => unknown;
export type CommandTable = Record<CommandId, CommandHandler>;

export function registerCommands(table: CommandTable, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return COMMAND_IDS.map((id) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await table[id](...args);
      } catch (err) {
        if (err instanceof vscode.CancellationError) return undefined;
        const message = err instanceof Error ? err.message : String(err);
        log.error(`${id}: ${message}`);
        const field = err instanceof ApiError && err.field ? ` (${err.field})` : '';
        const pick = await vscode.window.showErrorMessage(`Hangar: ${message}${field}`, vscode.l10n.t('Show Log'));
        if (pick) log.show();
        return undefined;
      }
    }),
  );
}
