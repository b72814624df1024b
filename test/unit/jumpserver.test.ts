// Pure parts of the JumpServer integration and the audit trail: the HTTP Signature, the config schema (strict,
// secrets from files), the SSH config's KoKo entries, the forwarding explanation, CSV export, action names.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AuditEntry } from '../../common/model';
import { renderBlock } from '../../common/sshConfig';
import { loadConfig } from '../../daemon/config';
import { authFromConfig, authorization } from '../../daemon/jumpserver/client';
import { auditText } from '../../daemon/services/audit';
import { actionOf } from '../../daemon/services/auditActions';
import { auditDocument } from '../../extension/audit/format';
import { KOKO_SETTINGS_HINT, kokoForwardingHint } from '../../extension/attach/koko';
import { tmpDir } from '../helpers/tmp';

describe('jumpserver: pure parts', () => {
  it('signs (request-target) accept date with hmac-sha256 (draft-cavage), or sends the private token', () => {
    const date = 'Tue, 01 Dec 2026 12:00:00 GMT';
    const h = authorization(
      { kind: 'signature', keyId: 'ak', secret: 's3' },
      'GET',
      '/api/v1/users/profile/',
      'application/json',
      date,
    );
    const want = crypto
      .createHmac('sha256', 's3')
      .update(`(request-target): get /api/v1/users/profile/\naccept: application/json\ndate: ${date}`)
      .digest('base64');
    assert.equal(
      h,
      `Signature keyId="ak",algorithm="hmac-sha256",headers="(request-target) accept date",signature="${want}"`,
    );
    assert.equal(authorization({ kind: 'token', token: 't' }, 'GET', '/x', 'a', date), 'Token t');
  });

  it('config: strict, secrets read from files (trimmed), defaults for org and KoKo port', () => {
    const dir = tmpDir('jms-cfg-');
    fs.writeFileSync(path.join(dir, 'sec'), 'the-secret\n');
    const file = path.join(dir, 'h.yaml');
    const yaml = (extra: string) =>
      `jumpserver:\n  url: https://jms.test\n  auth: {access_key_id: ak, access_key_secret_file: ${dir}/sec}\n  koko: {host: jms.test}\n${extra}`;
    fs.writeFileSync(file, yaml(''));
    const cfg = loadConfig({ argv: ['--config', file], env: {} });
    assert.equal(cfg.jumpserver!.org_id, '00000000-0000-0000-0000-000000000002');
    assert.equal(cfg.jumpserver!.koko.port, 2222);
    assert.equal(cfg.jumpserver!.required, false);
    assert.deepEqual(authFromConfig(cfg.jumpserver!.auth), { kind: 'signature', keyId: 'ak', secret: 'the-secret' });
    fs.writeFileSync(file, yaml('  secret: inline\n'));
    assert.throws(() => loadConfig({ argv: ['--config', file], env: {} }), /secret/);
  });

  it('the managed block sends a JumpServer env to KoKo before the wildcard, without ProxyCommand', () => {
    const block = renderBlock({
      gatewayUrl: 'http://gw.test:7420',
      proxyCommand: 'hangar',
      knownHostsFile: '/k',
      jumpserver: [
        { alias: 'hangar.gw.test-7420--web', host: 'koko.test', port: 2222, user: 'alice@hangar@hangar-web-1' },
      ],
    });
    const lines = block.split('\n');
    const at = lines.indexOf('Host hangar.gw.test-7420--web');
    assert.ok(at > 0 && at < lines.findIndex((l) => l.endsWith('--*')));
    assert.deepEqual(lines.slice(at + 1, at + 5), [
      '  HostName koko.test',
      '  Port 2222',
      '  User alice@hangar@hangar-web-1',
      '  ProxyCommand none',
    ]);
    assert.throws(() =>
      renderBlock({
        gatewayUrl: 'http://gw.test:7420',
        proxyCommand: 'hangar',
        knownHostsFile: '/k',
        jumpserver: [
          { alias: 'hangar.gw.test-7420--web', host: 'koko.test', port: 2222, user: 'x\n  ProxyCommand evil' },
        ],
      }),
    );
  });

  it('explains KoKo refusing forwarding (and only that)', () => {
    assert.equal(
      kokoForwardingHint('channel 2: open failed: administratively prohibited: open failed\nstdio forwarding failed'),
      KOKO_SETTINGS_HINT,
    );
    assert.match(KOKO_SETTINGS_HINT, /ENABLE_LOCAL_PORT_FORWARD: true and ENABLE_VSCODE_SUPPORT: true/);
    assert.equal(kokoForwardingHint('Permission denied (publickey).'), undefined);
  });

  it('audit: CSV quotes and defuses formulas; JSON lines; the document; action names of routes', () => {
    const e: AuditEntry = {
      id: 1,
      at: '2026-01-01T00:00:00.000Z',
      user_id: 'u',
      user: 'bob',
      action: 'environment.create',
      target: 'e1',
      detail: '{"name":"a,b"}',
      client: '=HYPERLINK("x")',
      address: '127.0.0.1',
      result: 'ok',
      status: 201,
    };
    const csv = auditText([e], 'csv').split('\r\n');
    assert.equal(
      csv[1],
      `1,2026-01-01T00:00:00.000Z,bob,environment.create,e1,ok,201,"'=HYPERLINK(""x"")",127.0.0.1,"{""name"":""a,b""}"`,
    );
    assert.deepEqual(JSON.parse(auditText([e], 'jsonl')), e);
    assert.match(auditDocument('http://gw', [e], true), /environment\.create\s+e1\s+ok/);
    assert.deepEqual(actionOf('POST', '/environments/web/stop'), { action: 'environment.stop', target: 'web' });
    assert.deepEqual(actionOf('DELETE', '/tokens/t1'), { action: 'token.delete', target: 't1' });
    assert.equal(actionOf('PUT', '/odd').action, 'put /odd');
  });
});
