import { createDohTransport } from './doh.js';
import { createStreamTransport } from './stream.js';
import type { UpstreamTransport } from './types.js';
import { createUdpTransport } from './udp.js';
import type { UpstreamUrl } from './url.js';

export interface TransportOptions {
  /** Extra trusted CA certificates (PEM) for tls and https upstreams. */
  ca?: string;
}

/** The one place that maps a parsed upstream URL to its transport. */
export function createTransport(target: UpstreamUrl, options: TransportOptions = {}): UpstreamTransport {
  switch (target.protocol) {
    case 'udp':
      // TC fallback goes to the same host:port over TCP (RFC 7766 §5).
      return createUdpTransport(target, {
        tcp: createStreamTransport({ ...target, protocol: 'tcp', url: target.url.replace(/^udp:/, 'tcp:') }),
      });
    case 'tcp':
      return createStreamTransport(target);
    case 'tls':
      return createStreamTransport(target, { tls: true, ca: options.ca });
    case 'https':
      return createDohTransport(target, { ca: options.ca });
  }
}
