// The part of @xmpp/client 0.14 (shipped without types) that the Prosody peer uses.
declare module '@xmpp/client' {
  export interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    is(name: string, xmlns?: string): boolean;
    getChildText(name: string, xmlns?: string): string | null;
  }
  export interface XmppClient {
    on(event: 'stanza', fn: (stanza: XmlElement) => void): void;
    on(event: 'error', fn: (e: Error) => void): void;
    on(event: 'online', fn: (jid: unknown) => void): void;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(...elements: XmlElement[]): Promise<void>;
    iqCaller: { request(el: XmlElement, timeoutMs?: number): Promise<XmlElement> };
  }
  export function client(o: { service: string; domain: string; username: string; password: string; resource?: string }): XmppClient;
  export function xml(name: string, attrs?: Record<string, string>, ...children: (XmlElement | string)[]): XmlElement;
}
