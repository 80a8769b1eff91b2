/**
 * The device lifecycle (DESIGN §4) as frozen data: `uninitialized → locked → unlocked → armed ⇄
 * paused → locked`. Only `armed` signs. `transition(state, event)` is a pure lookup in
 * TRANSITIONS; a pair not in the table is a state error (LOCKED / NOT_ARMED / PAUSED). The RPC
 * dispatcher checks `METHODS[m].allowedStates` first (`assertMethodAllowed`), then feeds the
 * event of a method that changes state through `transition`. docs/lifecycle.md §2.
 */
import {
  DEVICE_STATES,
  type DeviceState,
  isMethodName,
  METHODS,
  type MethodName,
} from '@keyline/wire-protocol';
import { SignerError } from '../errors.js';

export type { DeviceState } from '@keyline/wire-protocol';

export const LIFECYCLE_EVENTS = Object.freeze([
  'keyLoaded',
  'unlocked',
  'activated',
  'pause',
  'resume',
  'lock',
  'refusalLockout',
  'stateFailClosed',
] as const);
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

type Row = Readonly<Partial<Record<LifecycleEvent, DeviceState>>>;

const row = (r: Partial<Record<LifecycleEvent, DeviceState>>): Row => Object.freeze(r);

/**
 * (state, event) → next state. A missing pair is refused. Reasons (docs/lifecycle.md §2):
 * - `keyLoaded`: a key file exists (keygen done, or found at boot): nothing is decrypted yet.
 * - `unlocked`: the holder typed the passphrase on the console; the key is in RAM, not usable.
 * - `activated`: a second holder's signed activation verified (activation.ts).
 * - `pause` / `resume`: approvals.ts; `refusalLockout`: refusal-counter.ts tripped.
 * - `lock`: wipe the key. `stateFailClosed`: durable memory missing/corrupt/rolled back: wipe the
 *   key, so that only a new unlock (holder 1) and activation (holder 2) bring signing back. It is
 *   accepted in every state so that a fail-closed signal can never be refused.
 */
export const TRANSITIONS: Readonly<Record<DeviceState, Row>> = Object.freeze({
  uninitialized: row({ keyLoaded: 'locked', stateFailClosed: 'uninitialized' }),
  locked: row({ unlocked: 'unlocked', stateFailClosed: 'locked' }),
  unlocked: row({ activated: 'armed', lock: 'locked', stateFailClosed: 'locked' }),
  armed: row({
    pause: 'paused',
    lock: 'locked',
    refusalLockout: 'paused',
    stateFailClosed: 'locked',
  }),
  paused: row({
    resume: 'armed',
    lock: 'locked',
    refusalLockout: 'paused',
    stateFailClosed: 'locked',
  }),
});

/**
 * The state error a refused request answers in each state. The signer has no UNINITIALIZED or
 * "wrong state" code: `uninitialized` answers LOCKED (no usable key) and `armed` answers NOT_ARMED
 * (the only "not in the state this needs" code); `detail.state` says exactly which state it was.
 */
export const STATE_ERRORS = Object.freeze({
  uninitialized: 'LOCKED',
  locked: 'LOCKED',
  unlocked: 'NOT_ARMED',
  armed: 'NOT_ARMED',
  paused: 'PAUSED',
} as const satisfies Record<DeviceState, 'LOCKED' | 'NOT_ARMED' | 'PAUSED'>);

/** The lifecycle event a state-changing RPC method causes (the others change no state). */
export const METHOD_EVENTS = Object.freeze({
  activate: 'activated',
  pause: 'pause',
  resume: 'resume',
  lock: 'lock',
} as const satisfies Partial<Record<MethodName, LifecycleEvent>>);

const PLACE = 'device/lifecycle';

export function isDeviceState(x: unknown): x is DeviceState {
  return typeof x === 'string' && (DEVICE_STATES as readonly string[]).includes(x);
}

export function isLifecycleEvent(x: unknown): x is LifecycleEvent {
  return typeof x === 'string' && (LIFECYCLE_EVENTS as readonly string[]).includes(x);
}

function describe(x: unknown): string {
  return typeof x === 'string' ? JSON.stringify(x.slice(0, 32)) : typeof x;
}

function assertState(place: string, state: unknown): asserts state is DeviceState {
  if (!isDeviceState(state)) {
    throw new SignerError(
      'STATE_CORRUPT',
      `${place}: expected a device state (${DEVICE_STATES.join(', ')}), got ${describe(state)}`,
    );
  }
}

function stateError(place: string, state: DeviceState, what: string, expected: string): never {
  throw new SignerError(
    STATE_ERRORS[state],
    `${place}: expected state ${expected} for ${what}, got ${state}`,
    { state, reason: 'INVALID_TRANSITION' },
  );
}

/** The next state, or null when (state, event) is not in the table. */
export function nextState(state: DeviceState, event: LifecycleEvent): DeviceState | null {
  return Object.hasOwn(TRANSITIONS[state], event) ? (TRANSITIONS[state][event] ?? null) : null;
}

/** The states from which `event` is accepted. */
export function sourceStates(event: LifecycleEvent): DeviceState[] {
  return DEVICE_STATES.filter((s) => nextState(s, event) !== null);
}

/**
 * Pure transition. Throws STATE_CORRUPT for a value that is not a state (the caller's memory is
 * wrong), a malformed-input error for an unknown event, and the state error of `state` for an
 * event the table does not accept there.
 */
export function transition(state: DeviceState, event: LifecycleEvent): DeviceState {
  assertState(`${PLACE}/transition`, state);
  if (!isLifecycleEvent(event)) {
    throw new SignerError(
      'BAD_CONFIG',
      `${PLACE}/transition: expected a lifecycle event (${LIFECYCLE_EVENTS.join(', ')}), got ${describe(event)}`,
    );
  }
  const next = nextState(state, event);
  if (next === null) {
    stateError(`${PLACE}/transition`, state, `event ${event}`, sourceStates(event).join('|'));
  }
  return next;
}

/** Only `armed` signs. */
export function canSign(state: DeviceState): boolean {
  return state === 'armed';
}

/** Throws the state error unless `state` may sign. Call right before producing a signature. */
export function assertCanSign(state: DeviceState): void {
  assertState(`${PLACE}/sign`, state);
  if (!canSign(state)) stateError(`${PLACE}/sign`, state, 'signing', 'armed');
}

/**
 * Throws the state error unless `method` may run in `state` (`METHODS[method].allowedStates`).
 * An unknown method name is malformed input (BAD_CONFIG: the dispatcher should have refused it).
 */
export function assertMethodAllowed(method: MethodName, state: DeviceState): void {
  if (!isMethodName(method)) {
    throw new SignerError(
      'BAD_CONFIG',
      `${PLACE}/method: expected a method name, got ${describe(method)}`,
    );
  }
  assertState(`${PLACE}/method`, state);
  const allowed = METHODS[method].allowedStates;
  if (!allowed.includes(state)) stateError(`${PLACE}/method`, state, method, allowed.join('|'));
}
