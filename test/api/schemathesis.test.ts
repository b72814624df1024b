// schemathesis (property-based API testing, every check) against a real hangard on the local Docker backend,
// driven by the OpenAPI document the daemon serves: 0 server errors, schema violations or undocumented codes.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { containersWith, docker } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

const ROOT = path.resolve(__dirname, '../..');
// The daemon never pulls (allow_image_pulls: false): generated image names stay local lookups that 422.
const CONFIG =
  'backends:\n  - id: local\n    kind: docker\n    url: unix:///var/run/docker.sock\n    allow_image_pulls: false\n';

interface Report {
  test_cases: { generated: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: { title: string; count: number }[];
  phases: Record<string, { status: string }>;
}

function schemathesisBin(): string {
  const venv = execFileSync('bash', [path.join(ROOT, 'test/setup/schemathesis.sh')], { encoding: 'utf8' }).trim();
  return path.join(venv, 'bin', 'st');
}

/** Runs `st run` without blocking this process (the daemon under test lives in it) and reads its JSON report. */
function runSchemathesis(
  st: string,
  d: TestDaemon,
  token: string,
  examples: number,
): Promise<{ report: Report; output: string }> {
  const out = tmpDir('schemathesis-');
  const reportPath = path.join(out, 'report.json');
  const args = [
    '--config-file',
    path.join(ROOT, 'test/api/schemathesis.toml'),
    '--no-color',
    'run',
    `${d.url}/api/v1/openapi.json`,
    '-H',
    `Authorization: Bearer ${token}`,
    '--checks',
    'all',
    '--max-examples',
    String(examples),
    '--seed',
    '20261201',
    // One worker: Debian bookworm's Python 3.11.2 races in ast.parse across threads ("AST constructor recursion
    // depth mismatch", fixed in 3.11.5), which hypothesis hits in schemathesis's coverage phase.
    '--workers',
    '1',
    '--request-timeout',
    '20',
    '--report',
    'json',
    '--report-json-path',
    reportPath,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(st, args, { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    p.on('error', reject);
    p.on('exit', () => {
      if (!fs.existsSync(reportPath)) return reject(new Error(`schemathesis wrote no report:\n${output.slice(-4000)}`));
      resolve({ report: JSON.parse(fs.readFileSync(reportPath, 'utf8')) as Report, output });
    });
  });
}

// schemathesis failure codes (`st explain <code>`): what the counts are made of.
const KINDS: [string, string[]][] = [
  ['server errors', ['ST101', 'ST102']],
  ['schema violations', ['ST104', 'ST105', 'ST106', 'ST107', 'ST108', 'ST109', 'ST110']],
  ['undocumented status codes', ['ST103']],
];

function summarize(who: string, r: Report): string {
  const count = (codes: string[]) => r.failures.filter((f) => codes.includes(f.code)).reduce((n, f) => n + f.count, 0);
  const kinds = KINDS.map(([name, codes]) => `${count(codes)} ${name}`).join(', ');
  const other = r.failures.filter((f) => !KINDS.some(([, codes]) => codes.includes(f.code)));
  const rest = other.map((f) => `${f.code} ${f.title}: ${f.count} (${f.operations.join(', ')})`).join('; ') || 'none';
  return `schemathesis as ${who}: ${r.test_cases.generated} cases; ${kinds}; other failures: ${rest}; errors: ${r.errors.length}`;
}

describe('API conformance (schemathesis)', function () {
  this.timeout(30 * 60_000);
  let d: TestDaemon;
  let st: string;
  let generated = 0;

  before(async () => {
    st = schemathesisBin();
    d = await startDaemon({ configYaml: CONFIG });
    // Against a dead engine every create would be a documented 503 and the run would prove little.
    assert.equal(
      (await d.admin.backends())[0].available,
      true,
      'the local Docker backend must answer (test/setup/all.sh)',
    );
  });
  // Whatever the run created goes: envs through the API, then anything still labelled with this gateway's id.
  after(async () => {
    if (!d) return;
    for (const e of await d.admin.listEnvironments().catch(() => []))
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    // Volumes outlive their envs by design: the ones the run made on purpose go through the API too.
    for (const v of await d.admin.volumes().catch(() => [])) await d.admin.deleteVolume(v.id).catch(() => undefined);
    await d.close();
    const gateway = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
    const left = await containersWith(`dev.hangar.gateway=${gateway}`);
    if (left.length) await docker('rm', '-f', '-v', ...left);
    const volumes = (await docker('volume', 'ls', '-q', '--filter', `label=dev.hangar.gateway=${gateway}`))
      .split('\n')
      .filter(Boolean);
    if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
    assert.deepEqual([...left, ...volumes], [], 'containers and volumes the run left behind');
  });

  // Found by schemathesis (a 500): the engine refuses some references the API's pattern allows.
  it('an image reference the engine refuses is a 400 naming image', async () => {
    const r = await fetch(`${d.url}/api/v1/environments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'upper', image: 'Upper/Case', image_pull_policy: 'never' }),
    });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { field: string } }).error.field, 'image');
  });

  for (const [who, examples] of [
    ['admin', 80],
    ['user', 40],
  ] as const) {
    it(`finds nothing as ${who === 'admin' ? 'an admin' : 'a plain user'}`, async () => {
      const token = who === 'admin' ? d.token : (await d.admin.createUser(`fuzz-${Date.now()}`)).token;
      const { report, output } = await runSchemathesis(st, d, token, examples);
      console.log(`      ${summarize(who, report)}`);
      generated += report.test_cases.generated;
      assert.deepEqual(report.failures, [], output.slice(-8000));
      assert.deepEqual(report.errors, [], output.slice(-8000));
      // Every phase ran through (a phase that errors tests nothing and would hide failures).
      for (const phase of ['coverage', 'fuzzing', 'stateful'])
        assert.equal(report.phases[phase].status, 'success', `${phase} phase: ${output.slice(-8000)}`);
    });
  }

  it('ran at least 5000 cases', () => {
    assert.ok(generated >= 5000, `only ${generated} cases`);
  });
});
