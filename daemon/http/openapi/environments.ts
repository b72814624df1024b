// Environments: CRUD, lifecycle, connection, logs, tunnel and the Jupyter proxy.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  createEnvironmentSchema,
  listEnvironmentsQuery,
  logsQuery,
  rotateSecretSchema,
  tunnelQuery,
  updateEnvironmentSchema,
} from '../../../common/schemas';
import { extendSchema } from '../../../common/lifecycle';
import { JUPYTER_METHODS } from '../routes/jupyter';
import { answers, idParams, jsonBody, named, ok } from './registry';
import { connectionSchema, environmentSchema } from './responses';

const env = ok('The environment', environmentSchema);

// Operations on one env: a created env's id feeds them (OpenAPI links, which stateful testers follow too).
const BY_ID = [
  'getEnvironment',
  'updateEnvironment',
  'deleteEnvironment',
  'startEnvironment',
  'stopEnvironment',
  'restartEnvironment',
  'getConnection',
  'createJupyterSession',
  'rotateSecret',
  'getLogs',
  'extendEnvironment',
] as const;
const links = Object.fromEntries(
  BY_ID.map((operationId) => [operationId, { operationId, parameters: { id: '$response.body#/id' } }]),
);

function crud(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/environments',
    summary: 'List environments (own; all for an admin)',
    request: { query: listEnvironmentsQuery },
    responses: answers({ 200: ok('Environments', z.array(environmentSchema)) }, [400]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments',
    summary: 'Create an environment (provisioned in the background; follow /events or poll)',
    request: { body: jsonBody(createEnvironmentSchema.openapi('CreateEnvironment')) },
    responses: answers({ 202: { ...ok('Accepted, status creating', environmentSchema), links } }, [
      [
        400,
        "Invalid field (named in error.field), or one this gateway's backends can't serve (deployment_mode, backend_id, storage_type)",
      ],
      [
        409,
        'Name taken, vnc_port used, or no GPU fits (the message says which model is missing and what is free where)',
      ],
      [
        422,
        "Image unavailable (image_pull_policy never, or the backend does not pull), or the backend refused the workload (Kubernetes: a LimitRange, ResourceQuota or validation; the API server's message)",
      ],
      503,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/environments/{id}',
    operationId: 'getEnvironment',
    summary: 'Get an environment',
    request: { params: idParams },
    responses: answers({ 200: env }, [404]),
  });
  r.registerPath({
    method: 'patch',
    path: '/environments/{id}',
    operationId: 'updateEnvironment',
    summary: 'Update an environment (resources apply at the next start)',
    request: { params: idParams, body: jsonBody(updateEnvironmentSchema.openapi('UpdateEnvironment')) },
    responses: answers({ 200: ok('Updated', environmentSchema) }, [400, 404, 409]),
  });
  r.registerPath({
    method: 'delete',
    path: '/environments/{id}',
    operationId: 'deleteEnvironment',
    summary: 'Delete an environment and everything made for it',
    request: { params: idParams },
    responses: answers({ 204: ok('Deleted') }, [404, 409, 503]),
  });
}

function lifecycle(r: OpenAPIRegistry): void {
  for (const action of ['start', 'stop', 'restart'] as const) {
    r.registerPath({
      method: 'post',
      path: `/environments/{id}/${action}`,
      operationId: `${action}Environment`,
      summary: `${action[0].toUpperCase()}${action.slice(1)} an environment`,
      request: { params: idParams },
      responses: answers({ 200: env }, [
        404,
        409,
        [422, 'Image unavailable, or the environment failed to come up'],
        503,
      ]),
    });
  }
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/extend',
    operationId: 'extendEnvironment',
    summary: 'Push the next automatic stop out by hours or minutes (from its deadline; max lifetime stays)',
    request: { params: idParams, body: jsonBody(extendSchema.openapi('ExtendEnvironment')) },
    responses: answers({ 200: env }, [400, 404, [409, 'The env is not running']]),
  });
}

function access(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/connection',
    operationId: 'getConnection',
    summary: 'Connection info (SSH alias, host key, Jupyter URL + token)',
    request: { params: idParams },
    responses: answers({ 200: ok('Connection', connectionSchema) }, [404, 409, 503]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/jupyter-session',
    operationId: 'createJupyterSession',
    summary:
      "A one-minute link that opens the env's Jupyter in a browser (it becomes a cookie scoped to that env's Jupyter path)",
    request: { params: idParams },
    responses: answers({ 201: ok('The link', z.object({ url: z.string(), expires_in: z.number().int() })) }, [
      404,
      [409, 'The env does not run Jupyter'],
      503,
    ]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/rotate',
    operationId: 'rotateSecret',
    summary: 'Rotate a secret: the env restarts with the new one, the old one stops working',
    request: { params: idParams, body: jsonBody(rotateSecretSchema) },
    responses: answers({ 200: ok('New connection info', connectionSchema) }, [
      400,
      404,
      [409, 'The env has no such secret, or is busy'],
      422,
      503,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/logs',
    operationId: 'getLogs',
    summary: "Logs (a VM's serial console); follow=true streams",
    request: { params: idParams, query: logsQuery },
    responses: answers({ 200: { description: 'Log lines', content: { 'text/plain': { schema: z.string() } } } }, [
      400,
      404,
      [409, 'No container or VM yet'],
      503,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/tunnel',
    summary: 'WebSocket upgrade (or Upgrade: hangar-tcp) carrying raw TCP to a port of the env (binary frames)',
    request: { params: idParams, query: tunnelQuery },
    responses: answers({ 101: ok('Switching protocols') }, [400, 404, 409, 422, 426]),
  });
}

// Any method passes through to Jupyter, whose own answers come back as they are.
function jupyter(r: OpenAPIRegistry): void {
  for (const method of JUPYTER_METHODS.filter((m) => m !== 'HEAD').map((m) => m.toLowerCase() as Lowercase<typeof m>)) {
    r.registerPath({
      method,
      path: '/environments/{id}/jupyter/{path}',
      summary:
        "Reverse proxy (HTTP and kernel WebSockets) to the env's Jupyter; the gateway's auth in front, Jupyter's token injected",
      request: { params: named('path') },
      responses: {
        default: ok(
          "Jupyter's answer, or a gateway error (401, 404, 409 not running or no Jupyter, 422 port unreachable, 503)",
        ),
      },
    });
  }
}

export function registerEnvironments(r: OpenAPIRegistry): void {
  crud(r);
  lifecycle(r);
  access(r);
  jupyter(r);
}
