// Profiles: an admin's presets; create by profile is POST /environments with "profile" (see environments.ts).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { profileSchema, updateProfileSchema } from '../../../common/profiles';
import { answers, jsonBody, ok } from './registry';

const nameParams = z.object({ name: z.string().min(1).describe('Profile name') });

export const profileInfoSchema = z
  .object({
    name: z.string(),
    display_name: z.string(),
    description: z.string(),
    environment: z.record(z.unknown()).describe('The create fields it fixes'),
    options: z
      .record(z.object({ choices: z.array(z.unknown()), default: z.unknown() }).passthrough())
      .describe('Fields the user chooses: a value or a {label, value} of `choices`; `default` when not given'),
    teams: z.array(z.string()),
    roles: z.array(z.string()),
    source: z.enum(['config', 'api']).describe('config: defined in the configuration file, read-only here'),
    hash: z.string().describe('sha256 of environment + options'),
  })
  .passthrough()
  .openapi('Profile');

export const profileDriftSchema = z
  .object({
    environment_id: z.string(),
    profile: z.string().nullable(),
    profile_options: z.record(z.unknown()).nullable(),
    available: z.boolean().describe('The profile still exists and the caller may use it'),
    profile_changed: z.boolean().describe('Its definition differs from the one the env was made from'),
    changed: z.array(z.object({ field: z.string(), env: z.unknown(), profile: z.unknown() })),
    recreate: z
      .record(z.unknown())
      .nullable()
      .describe('The POST /environments body that makes it again from the same profile and options'),
  })
  .openapi('ProfileDrift');

const adminOnly = [403, 'Admin only'] as const;
const readOnly = [409, 'Defined in the configuration file (change it there: read-only through the API)'] as const;

export function registerProfiles(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/profiles',
    summary: 'Profiles the caller may use (an admin: all), and whether the caller may create without one',
    responses: answers(
      {
        200: ok(
          'Profiles',
          z.object({ profiles: z.array(profileInfoSchema), custom_allowed: z.boolean() }).openapi('ProfileList'),
        ),
      },
      [],
    ),
  });
  r.registerPath({
    method: 'post',
    path: '/profiles',
    summary: 'Define a profile (admin; stored in the database)',
    request: { body: jsonBody(profileSchema.openapi('CreateProfile')) },
    responses: answers({ 201: ok('Defined', profileInfoSchema) }, [
      400,
      adminOnly,
      [409, 'A profile of that name exists (in the database or the configuration file)'],
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/profiles/{name}',
    summary: 'A profile',
    request: { params: nameParams },
    responses: answers({ 200: ok('The profile', profileInfoSchema) }, [
      [404, 'Unknown, or not one the caller may use (both 404)'],
    ]),
  });
  r.registerPath({
    method: 'put',
    path: '/profiles/{name}',
    summary: 'Replace an API-defined profile (admin); envs made from it keep theirs (see profile-drift)',
    request: { params: nameParams, body: jsonBody(updateProfileSchema.openapi('UpdateProfile')) },
    responses: answers({ 200: ok('Replaced', profileInfoSchema) }, [400, adminOnly, 404, readOnly]),
  });
  r.registerPath({
    method: 'delete',
    path: '/profiles/{name}',
    summary: 'Delete an API-defined profile (admin); envs made from it stay',
    request: { params: nameParams },
    responses: answers({ 204: ok('Deleted') }, [adminOnly, 404, readOnly]),
  });
}
