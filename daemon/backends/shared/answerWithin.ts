import { BackendUnavailableError } from '../../errors';

/** A backend that doesn't answer a health call in time is unavailable (a hung engine must not hang the API). */
export async function answerWithin<T>(backendId: string, ms: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BackendUnavailableError(backendId, `no answer within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
