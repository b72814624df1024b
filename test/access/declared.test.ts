// Access an image declares with labels (RStudio, NoMachine, …): offered by the connection endpoint and reachable
// through the gateway's tunnel on the declared port.
import assert from 'node:assert/strict';
import { openTunnel } from '../../common/tunnel';
import { declaredAccess } from '../../daemon/environments/access';
import { startDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { retry } from '../helpers/retry';

const LABELLED = 'hangar-test/labelled:latest';

describe('access: protocols declared by the image', function () {
  this.timeout(120_000);

  it('parses dev.hangar.access.<protocol>=<port> labels and ignores anything else', () => {
    assert.deepEqual(
      declaredAccess({
        'dev.hangar.access.rstudio': '8787',
        'dev.hangar.access.nomachine': '4000',
        'dev.hangar.access.bad': 'x',
        'org.other': '1',
        'dev.hangar.access.big': '70000',
      }),
      [
        { protocol: 'nomachine', port: 4000 },
        { protocol: 'rstudio', port: 8787 },
      ],
    );
  });

  it('an image labelled for RStudio and NoMachine: connection info lists them; the port answers through the tunnel', async () => {
    const base = await docker('create', '--entrypoint', '/bin/true', SSH_IMAGE);
    await docker(
      'commit',
      '--change',
      'LABEL dev.hangar.access.rstudio=8787',
      '--change',
      'LABEL dev.hangar.access.nomachine=4000',
      base,
      LABELLED,
    );
    await docker('rm', base);
    const d = await startDaemon();
    try {
      const env = await d.admin.createEnvironment({
        name: 'rs',
        image: LABELLED,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      const running = await d.admin.waitFor(env.id, ['running']);
      const c = await d.admin.connection(env.id);
      assert.deepEqual(c.declared, [
        { protocol: 'nomachine', port: 4000, tunnel_path: `/api/v1/environments/${env.id}/tunnel?port=4000` },
        { protocol: 'rstudio', port: 8787, tunnel_path: `/api/v1/environments/${env.id}/tunnel?port=8787` },
      ]);
      // A stand-in web server on the declared port (the image has no RStudio): the tunnel reaches it.
      await docker('exec', '-d', '-u', 'hangar', running.backend_ref!, 'python3', '-m', 'http.server', '8787');
      const answer = await retry(async () => {
        const s = await openTunnel(`${d.url}${c.declared![1].tunnel_path}`, d.token, 'raw');
        return new Promise<string>((resolve, reject) => {
          let out = '';
          s.on('data', (b: Buffer) => {
            out += b.toString();
          });
          s.on('end', () => resolve(out));
          s.on('error', reject);
          s.write('GET / HTTP/1.0\r\n\r\n');
        });
      });
      assert.match(answer, /^HTTP\/1\.0 200/);
      await d.admin.deleteEnvironment(env.id);
    } finally {
      await d.close();
      await docker('rmi', LABELLED).catch(() => undefined);
    }
  });
});
