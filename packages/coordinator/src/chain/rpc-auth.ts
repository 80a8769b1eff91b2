/**
 * HTTP Basic credentials for Bitcoin Core's RPC server: a fixed user/password (rpcauth= or
 * rpcuser=/rpcpassword= on the node), or the cookie file the node writes at every start
 * (`<datadir>/<chain>/.cookie`, one line `__cookie__:<hex>`; doc/JSON-RPC-interface.md
 * upstream, "Secure authentication"). The cookie changes at each restart, so after a 401 the
 * client asks `refresh()` to re-read it once.
 *
 * Secrets are held in `Redacted` so that printing, JSON-serialising or `util.inspect`-ing a
 * config or an error never shows them; only `authorization()` reveals them, into a header.
 */
import { readFile } from 'node:fs/promises';
import { base64, utf8 } from '@scure/base';
import { CoordinatorError } from '../errors.js';
import { RetryableFailure } from './retry.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** A secret string that prints as `[redacted]` everywhere. */
export class Redacted {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [INSPECT](): string {
    return '[redacted]';
  }
}

export type RpcAuth =
  | { readonly kind: 'userpass'; readonly user: string; readonly password: Redacted }
  | { readonly kind: 'cookie'; readonly cookieFile: string };

/** `user:password` where the user has no colon and neither part has whitespace. */
const COOKIE_LINE = /^([^:\s]+):(\S+)$/;

function basic(user: string, password: string): Redacted {
  return new Redacted(`Basic ${base64.encode(utf8.decode(`${user}:${password}`))}`);
}

export class RpcCredentials {
  readonly #auth: RpcAuth;
  #header: Redacted | null = null;

  constructor(auth: RpcAuth) {
    this.#auth = auth;
  }

  get kind(): RpcAuth['kind'] {
    return this.#auth.kind;
  }

  /** The `Authorization` header value, reading the cookie file on first use. */
  async authorization(): Promise<string> {
    if (this.#header === null) this.#header = await this.#load();
    return this.#header.reveal();
  }

  /** Forget the cached cookie so the next request re-reads it; false when nothing can change. */
  refresh(): boolean {
    if (this.#auth.kind !== 'cookie') return false;
    this.#header = null;
    return true;
  }

  async #load(): Promise<Redacted> {
    const auth = this.#auth;
    if (auth.kind === 'userpass') return basic(auth.user, auth.password.reveal());
    let text: string;
    try {
      text = await readFile(auth.cookieFile, 'utf8');
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ENOENT') {
        // Core deletes the cookie at shutdown and writes a new one at start: a restart window.
        throw new RetryableFailure(
          `cookie file ${auth.cookieFile} does not exist (is bitcoind running?)`,
          { cookieFile: auth.cookieFile },
        );
      }
      throw new CoordinatorError(
        'BAD_CONFIG',
        `rpc/auth: expected a readable cookie file at ${auth.cookieFile}, got ${String(code ?? e)}`,
        { cookieFile: auth.cookieFile },
      );
    }
    const line = text.replace(/\r?\n$/, '');
    const m = COOKIE_LINE.exec(line);
    if (m === null) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `rpc/auth: expected one line "user:password" in the cookie file ${auth.cookieFile}, got ${text.length} bytes that are not`,
        { cookieFile: auth.cookieFile },
      );
    }
    return basic(m[1] as string, m[2] as string);
  }
}
