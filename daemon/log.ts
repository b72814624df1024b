import pino from 'pino';

// Secrets never reach a log line: tokens, passwords and keys are redacted wherever they appear.
export const REDACT_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'vnc_password',
  '*.vnc_password',
  'private_key',
  '*.private_key',
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'jupyter_token',
  '*.jupyter_token',
];

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { svc: 'hangard' } }, destination);
}
