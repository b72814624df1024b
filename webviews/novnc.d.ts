// The parts of noVNC's RFB class the desktop webview uses (the package ships no types).
declare module '@novnc/novnc' {
  export default class RFB extends EventTarget {
    constructor(
      target: HTMLElement,
      url: string,
      options?: { wsProtocols?: string[]; credentials?: { password?: string; username?: string } },
    );
    scaleViewport: boolean;
    resizeSession: boolean;
    focusOnClick: boolean;
    disconnect(): void;
    sendCredentials(c: { password?: string }): void;
    clipboardPasteFrom(text: string): void;
  }
}
