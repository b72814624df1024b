// Mocha's spec reporter, closing with the plain line CI reads: "N passed, N failed".
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class HangarReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      process.stdout.write(
        `\n${s.passes || 0} passed, ${s.failures || 0} failed${s.pending ? `, ${s.pending} skipped` : ''}\n`,
      );
    });
  }
}
module.exports = HangarReporter;
