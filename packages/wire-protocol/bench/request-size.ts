import { WireError } from '../src/errors.js';
import { METHODS, type MethodParamsInput } from '../src/methods.js';
import { DEFAULT_MAX_ENVELOPE_BYTES, encodeEnvelope } from '../src/rpc-envelope.js';
import { DATA_RECORD_OVERHEAD, SESSION_MAX_MESSAGE_BYTES } from '../src/session.js';

/**
 * How many bytes a sign_psbt request becomes at each layer above the link: the CBOR envelope,
 * the RPC chunks (one flag byte each, at most SESSION_MAX_MESSAGE_BYTES per chunk) and the
 * session records (type byte + 16-byte tag each). The link then cuts the records into frames.
 */
export interface RequestSize {
  readonly envelopeBytes: number;
  readonly chunks: number;
  /** Envelope plus one flag byte per chunk. */
  readonly rpcBytes: number;
  /** What the session hands the link: rpcBytes plus DATA_RECORD_OVERHEAD per record. */
  readonly recordBytes: number;
}

/** `id` only matters for its CBOR length: ids 1..23 all take one byte. */
export function signRequestSize(params: MethodParamsInput<'sign_psbt'>, id = 1): RequestSize {
  const parsed = METHODS.sign_psbt.params.safeParse(params);
  if (!parsed.success) {
    throw new WireError('BAD_PARAMS', 'bench/request-size: expected valid sign_psbt params');
  }
  const envelopeBytes = encodeEnvelope(
    'bench/request-size',
    { id, method: 'sign_psbt', params: parsed.data },
    DEFAULT_MAX_ENVELOPE_BYTES,
  ).length;
  const chunks = Math.ceil(envelopeBytes / (SESSION_MAX_MESSAGE_BYTES - 1));
  const rpcBytes = envelopeBytes + chunks;
  return { envelopeBytes, chunks, rpcBytes, recordBytes: rpcBytes + chunks * DATA_RECORD_OVERHEAD };
}
