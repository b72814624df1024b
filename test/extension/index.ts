// Entry of the integration suite that runs INSIDE the extension host (code-server here, desktop VS Code on a
// developer's machine, unchanged). Bundled to dist/test/extension/index.js by test/extension/build.mjs.
import Mocha from 'mocha';
import { suite } from './suite';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  suite(mocha.suite);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      console.log(`\nextension suite: ${failures} failed`);
      if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
      else resolve();
    });
  });
}
