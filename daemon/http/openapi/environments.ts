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
import { createFromProfileSchema } from '../../../common/profiles';
import { profileDriftSchema } from './profiles';
import { answers, idParams, jsonBody, named, ok } from './registry';
import { connectionSchema, datasetsSyncedSchema, environmentSchema, envActivitySchema } from './responses';

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
  'getProfileDrift',
  'extendEnvironment',
  'syncEnvironmentDatasets',
] as const;
const links = Object.fromEntries(
  BY_ID.map((operationId) => [operationId, { operationId, parameters: { id: '$response.body#/id' } }]),
);

/** POST /environments: the full form or a profile's. */
function create(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'post',
    path: '/environments',
    summary:
      'Create an environment (provisioned in the background; follow /events or poll): the full form, or {name, profile, options} from a profile',
    request: {
      body: jsonBody(
        z.union([
          createEnvironmentSchema.openapi('CreateEnvironment'),
          createFromProfileSchema.openapi('CreateFromProfile', {
            description:
              "A profile's fixed fields plus the chosen options (value or label of a choice; absent: the default). Only env_vars, env_vars_from_secrets, ssh_user and gpu_wait may be given besides.",
          }),
        ]),
      ),
    },
    responses: answers({ 202: { ...ok('Accepted, status creating', environmentSchema), links } }, [
      [
        400,
        "Invalid field (named in error.field), or one this gateway's backends can't serve (deployment_mode, backend_id, storage_type); an option value outside its choices (error.field options.<field>)",
      ],
      [
        403,
        'A field the profile fixes was given (error.field names it, rule profile); a mount policy refused (rule host_paths/volumes); or the role may create from a profile only (rule profiles_only_for_roles)',
      ],
      [404, 'The profile is unknown or not one the caller may use'],
      [
        409,
        'Name taken, vnc_port used, no GPU fits (the message says which model is missing and what is free where), or the team quota is exceeded ("quota exceeded: team ml: 7 of 8 GPUs in use, this asks 2")',
      ],
      [
        422,
        "Image unavailable (image_pull_policy never, or the backend does not pull), or the backend refused the workload (Kubernetes: a LimitRange, ResourceQuota or validation; the API server's message)",
      ],
      503,
    ]),
  });
}

function crud(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/environments',
    summary: 'List environments (own; all for an admin); with limit, one page of a stable order',
    request: { query: listEnvironmentsQuery },
    responses: answers(
      {
        200: {
          description: 'Environments; with limit/cursor one page, and X-Next-Cursor when another follows',
          headers: { 'x-next-cursor': { schema: { type: 'string' }, description: 'The cursor of the next page' } },
          content: { 'application/json': { schema: z.array(environmentSchema) } },
        },
      },
      [400],
    ),
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
    responses: answers({ 200: ok('Updated', environmentSchema) }, [
      400,
      [403, "A field the env's profile fixes (error.field names it; admins may)"],
      404,
      409,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/profile-drift',
    operationId: 'getProfileDrift',
    summary: 'What changed in the profile since the env was made from it, and the body that recreates it',
    request: { params: idParams },
    responses: answers({ 200: ok('Drift (profile null: not made from a profile)', profileDriftSchema) }, [404]),
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
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/activity',
    operationId: 'getEnvironmentActivity',
    summary: "What is open in the env now: the gateway's tunnels and hangar-agent's sessions, by kind",
    request: { params: idParams },
    responses: answers({ 200: ok('What is open', envActivitySchema) }, [404]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/datasets/sync',
    operationId: 'syncEnvironmentDatasets',
    summary:
      "Copy the env's read-write datasets back to their prefixes now (Kubernetes pods, where they are copies; also done at stop)",
    request: { params: idParams },
    responses: answers({ 200: ok('Each read-write dataset, copied or why not', datasetsSyncedSchema) }, [
      404,
      [409, 'Not running'],
      [422, 'No read-write dataset, or its datasets are mounts (Docker, VMs): nothing to sync'],
      503,
    ]),
  });
  for (const action of ['start', 'stop', 'restart'] as const) {
    r.registerPath({
      method: 'post',
      path: `/environments/{id}/${action}`,
      operationId: `${action}Environment`,
      summary: `${action[0].toUpperCase()}${action.slice(1)} an environment`,
      request: { params: idParams },
      responses: answers({ 200: env }, [
        404,
        [409, 'Wrong state, or (start) the team quota is exceeded: the message has the numbers'],
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
  create(r);
  lifecycle(r);
  access(r);
  jupyter(r);
}
