// The API description served at /api/v1/openapi.json, generated from the zod schemas the routes validate with.
import { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { registerDatasets } from './datasets';
import { registerEnvironments } from './environments';
import { registerIdentity } from './identity';
import { registerInfra } from './infra';
import { registerProfiles } from './profiles';
import { registerJumpServer } from './jumpserver';
import { newRegistry } from './registry';
import { registerStorage } from './storage';
import { registerSnapshots } from './snapshots';
import { registerVms } from './vms';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export function openApiDocument(version: string): OpenApiDocument {
  const r = newRegistry();
  registerEnvironments(r);
  registerIdentity(r);
  registerInfra(r);
  registerVms(r);
  registerStorage(r);
  registerSnapshots(r);
  registerProfiles(r);
  registerJumpServer(r);
  registerDatasets(r);
  return new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Hangar gateway API',
      version,
      description:
        'Development environments on Docker, Kubernetes and KVM. Every route but /healthz and this document needs `Authorization: Bearer <token>`.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
  });
}
