// Jupyter messaging protocol (v5.3) as the tests speak it over a kernel's channels WebSocket.
import crypto from 'node:crypto';

/** An execute_request for `code` on the shell channel; its msg_id is the header's. */
export function executeRequest(code: string, msgId = crypto.randomUUID()): string {
  return JSON.stringify({
    header: {
      msg_id: msgId,
      username: 't',
      session: crypto.randomUUID(),
      msg_type: 'execute_request',
      version: '5.3',
      date: new Date().toISOString(),
    },
    parent_header: {},
    metadata: {},
    channel: 'shell',
    content: {
      code,
      silent: false,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    },
  });
}
