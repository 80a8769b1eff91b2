import type { WireError } from './errors.js';

/**
 * A message channel is what the link layer offers the session layer, and what the session layer
 * offers the RPC layer: ordered, whole messages up to `maxMessageSize` bytes.
 *
 * Lifecycle: 'up' fires when the channel is (re)established with fresh state on both sides
 * (link: after a RESET exchange; session: after a completed handshake). 'down' fires when it is
 * lost; every pending `send` is rejected with the same error. A channel may go up again after
 * going down (a reconnect); upper layers must treat each 'up' as a brand-new peer state.
 */
export interface ChannelEvents {
  up: [];
  down: [error: WireError];
  message: [message: Uint8Array];
}

export interface MessageChannel {
  readonly maxMessageSize: number;
  /** True between 'up' and 'down'. */
  readonly isUp: boolean;
  /**
   * Send one message. Link: resolves when the peer has acknowledged every frame of it.
   * Session: resolves when the record has been handed to (and acknowledged through) the link.
   * Rejects with a WireError (LINK_DOWN, LINK_CLOSED, SESSION_CLOSED, MESSAGE_TOO_LARGE...).
   */
  send(message: Uint8Array): Promise<void>;
  on<K extends keyof ChannelEvents>(event: K, listener: (...args: ChannelEvents[K]) => void): this;
  off<K extends keyof ChannelEvents>(event: K, listener: (...args: ChannelEvents[K]) => void): this;
  /** Stop for good: no further 'up'. Pending sends reject with LINK_CLOSED / SESSION_CLOSED. */
  close(): Promise<void>;
}
