// The manifest and the code agree: commands, menus, context keys, localisation.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { COMMAND_IDS } from '../../extension/core/commandIds';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const nlsEn = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8'));
const nlsZh = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.zh-cn.json'), 'utf8'));
const bundleZh = JSON.parse(fs.readFileSync(path.join(root, 'l10n/bundle.l10n.zh-cn.json'), 'utf8'));

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) =>
      d.isDirectory() ? sources(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : [],
    );
}

describe('extension manifest', () => {
  it('contributes exactly the commands the registry handles', () => {
    const declared = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(declared, [...COMMAND_IDS].sort());
  });

  it('menus only reference declared commands, and context menus match contextValue tags', () => {
    const ids = new Set<string>(COMMAND_IDS);
    for (const [where, items] of Object.entries<any[]>(pkg.contributes.menus)) {
      for (const m of items) assert.ok(ids.has(m.command), `${where}: ${m.command}`);
    }
    for (const m of pkg.contributes.menus['view/item/context']) assert.match(m.when, /viewItem (=~|==) /);
  });

  it('activates lazily (never "*")', () => {
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.equal(pkg.main, './dist/extension.js');
  });

  it('every %key% of package.json exists in English and 简体中文', () => {
    const keys = [...JSON.stringify(pkg.contributes).matchAll(/%([\w.]+)%/g)].map((m) => m[1]);
    assert.ok(keys.length > 20);
    for (const k of keys) {
      assert.ok(nlsEn[k], `package.nls.json: ${k}`);
      assert.ok(nlsZh[k], `package.nls.zh-cn.json: ${k}`);
    }
    assert.deepEqual(Object.keys(nlsZh).sort(), Object.keys(nlsEn).sort());
  });

  it('every runtime string (vscode.l10n.t) has a 简体中文 translation', () => {
    const used = new Set<string>();
    for (const f of sources(path.join(root, 'extension'))) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/l10n\.t\('((?:[^'\\]|\\.)*)'/g))
        used.add(m[1].replace(/\\'/g, "'"));
    }
    for (const label of ['Running', 'In progress', 'Stopped', 'Needs attention']) used.add(label);
    const missing = [...used].filter((k) => !(k in bundleZh));
    assert.deepEqual(missing, []);
  });

  it('logic modules do not import vscode (they run under plain mocha)', () => {
    for (const f of [
      'tree/model.ts',
      'tree/gpuModel.ts',
      'create/request.ts',
      'create/profiles.ts',
      'attach/remoteUri.ts',
      'core/commandIds.ts',
      'gateways/trust.ts',
      'audit/format.ts',
      'attach/koko.ts',
    ]) {
      assert.doesNotMatch(fs.readFileSync(path.join(root, 'extension', f), 'utf8'), /from 'vscode'/, f);
    }
  });
});
