// The lifecycle's shared pieces: the config schema (bad input names the field), durations, how the next action is
// shown (CLI, tree) and the extension's "stops in 10 min" warnings (no vscode needed).
import assert from 'node:assert/strict';
import { describeNextAction, lifecycleConfigSchema, parseDuration } from '../../common/lifecycle';
import { createEnvironmentSchema } from '../../common/schemas';
import { StopWarnings, warningText } from '../../extension/lifecycleWarnings';
import { envDescription } from '../../extension/tree/model';
import { fakeEnv } from './extension-logic.test';

describe('lifecycle: config, durations, display and warnings', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  const at = (min: number) => new Date(now + min * 60_000).toISOString();

  it('lifecycle_config is strict and names the bad field', () => {
    const bad = (c: unknown) =>
      createEnvironmentSchema
        .safeParse({ name: 'a', image: 'x:1', lifecycle_config: c })
        .error!.issues[0].path.join('.');
    assert.equal(bad({ idle_timeout_minutes: 0 }), 'lifecycle_config.idle_timeout_minutes');
    assert.equal(bad({ schedule: { start: 'not a cron' } }), 'lifecycle_config.schedule.start');
    assert.equal(
      bad({ schedule: { stop: '0 20 * * 1-5', timezone: 'Mars/Olympus' } }),
      'lifecycle_config.schedule.timezone',
    );
    assert.equal(bad({ idle: 3 }), 'lifecycle_config');
    assert.deepEqual(lifecycleConfigSchema.parse({ schedule: { stop: '0 20 * * 1-5' } }).schedule, {
      stop: '0 20 * * 1-5',
      timezone: 'UTC',
    });
  });

  it('durations and the next action in words', () => {
    assert.equal(parseDuration('2h'), 120);
    assert.equal(parseDuration('90m'), 90);
    assert.equal(parseDuration('1h30m'), 90);
    assert.equal(parseDuration('soon'), null);
    assert.equal(
      describeNextAction({ action: 'stop', at: at(12), reason: 'idle 30 min' }, now),
      'stop in 12 min (idle 30 min)',
    );
    assert.equal(
      describeNextAction({ action: 'none', at: null, reason: '2 connections open' }, now),
      'no automatic action (2 connections open)',
    );
    const e = fakeEnv({
      next_action: {
        action: 'stop',
        at: new Date(Date.now() + 12 * 60_000 + 1000).toISOString(),
        reason: 'idle 30 min',
      },
    });
    assert.equal(envDescription(e), 'ide · local · stop in 12 min');
  });

  it('warns once per deadline, ~10 minutes before an automatic stop; an extension is warned about again', () => {
    const w = new StopWarnings();
    const e = fakeEnv({ status: 'running', next_action: { action: 'stop', at: at(9), reason: 'idle 30 min' } });
    const far = fakeEnv({
      id: 'far',
      status: 'running',
      next_action: { action: 'stop', at: at(30), reason: 'idle 30 min' },
    });
    assert.deepEqual(
      w.due([e, far], now).map((x) => x.id),
      [e.id],
    );
    assert.equal(warningText(e, now), `${e.name} stops in 9 min (idle 30 min).`);
    assert.deepEqual(w.due([e, far], now + 60_000), []);
    const extended = { ...e, next_action: { ...e.next_action!, at: at(129) } };
    assert.deepEqual(
      w.due([extended], now + 120 * 60_000).map((x) => x.id),
      [e.id],
    );
  });
});
