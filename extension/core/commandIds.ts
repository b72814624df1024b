// Every command the extension contributes. A unit test checks this list against package.json, and the
// registry's handler table is typed by it, so a command can't be declared without a handler or vice versa.
export const COMMAND_IDS = [
  'hangar.connect',
  'hangar.logout',
  'hangar.refresh',
  'hangar.filter',
  'hangar.clearFilter',
  'hangar.createEnvironment',
  'hangar.start',
  'hangar.stop',
  'hangar.restart',
  'hangar.delete',
  'hangar.attach',
  'hangar.openJupyter',
  'hangar.openJupyterInBrowser',
  'hangar.openDesktop',
  'hangar.openRdp',
  'hangar.copySshCommand',
  'hangar.copyConnectionInfo',
  'hangar.showLogs',
  'hangar.openTerminal',
  'hangar.createSnapshot',
  'hangar.revertSnapshot',
  'hangar.deleteSnapshot',
  'hangar.showAuditLog',
  'hangar.showOutput',
  'hangar.showProfileDrift',
  'hangar.uploadToDataset',
  'hangar.downloadFromDataset',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
