// The caller, users (admin), API tokens and SSH keys.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { addSshKeySchema, createUserSchema, issueTokenSchema } from '../../../common/schemas';
import { answers, jsonBody, ok } from './registry';
import { newTokenSchema, newUserSchema, sshKeySchema, tokenInfoSchema, userSchema } from './responses';

const byId = z.object({ id: z.string().min(1) });

export function registerIdentity(r: OpenAPIRegistry): void {
  registerUsersAndTokens(r);
  registerSshKeys(r);
}

/** /me, /users (admin) and /tokens. */
function registerUsersAndTokens(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/me',
    summary: 'The caller',
    responses: answers({ 200: ok('User', userSchema) }, []),
  });
  r.registerPath({
    method: 'get',
    path: '/users',
    summary: 'Users (admin)',
    responses: answers({ 200: ok('Users', z.array(userSchema)) }, [403]),
  });
  r.registerPath({
    method: 'post',
    path: '/users',
    summary:
      'Create a user and its first token (admin); team names the Kubernetes namespace under namespace_policy per-team',
    request: { body: jsonBody(createUserSchema.openapi('CreateUser')) },
    responses: answers({ 201: ok('User and token (shown once)', newUserSchema) }, [400, 403, [409, 'Name taken']]),
  });
  r.registerPath({
    method: 'get',
    path: '/tokens',
    summary: 'Own API tokens',
    responses: answers({ 200: ok('Tokens (no secrets)', z.array(tokenInfoSchema)) }, []),
  });
  r.registerPath({
    method: 'post',
    path: '/tokens',
    summary: 'Issue a token (shown once)',
    request: { body: jsonBody(issueTokenSchema) },
    responses: answers({ 201: ok('Token', newTokenSchema) }, [400]),
  });
  r.registerPath({
    method: 'delete',
    path: '/tokens/{id}',
    summary: 'Revoke an own token',
    request: { params: byId },
    responses: answers({ 204: ok('Revoked') }, [404]),
  });
}

/** /ssh-keys: the caller's own public keys. */
function registerSshKeys(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/ssh-keys',
    summary: 'Own SSH public keys',
    responses: answers({ 200: ok('Keys', z.array(sshKeySchema)) }, []),
  });
  r.registerPath({
    method: 'post',
    path: '/ssh-keys',
    summary: 'Upload a public key, or {generate: true} for an ed25519 pair (private key returned once)',
    request: { body: jsonBody(addSshKeySchema.openapi('AddSshKey')) },
    responses: answers({ 201: ok('Key', sshKeySchema) }, [
      [400, 'Invalid field, or a public key that does not parse'],
      [409, 'Key already added'],
    ]),
  });
  r.registerPath({
    method: 'delete',
    path: '/ssh-keys/{id}',
    summary: 'Remove an own SSH key',
    request: { params: byId },
    responses: answers({ 204: ok('Removed') }, [404]),
  });
}
