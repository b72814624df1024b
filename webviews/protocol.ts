// The typed messages between the extension and its webviews. A handler table typed by these unions makes a
// missing case a compile error on both sides.
export type ToDesktop =
  | { type: 'connect'; wsUrl: string; token: string; password: string; name: string }
  | { type: 'clipboard'; text: string };

export type FromDesktop =
  | { type: 'ready' }
  | { type: 'status'; state: 'connecting' | 'connected' | 'disconnected' | 'failed'; detail?: string }
  | { type: 'clipboard'; text: string };
