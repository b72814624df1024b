import assert from 'node:assert/strict';
import { ApiError } from '../../common/client';

/** The ApiError a call must fail with (anything else fails the test). */
export async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('expected an error');
}
