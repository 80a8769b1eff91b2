import { DEVICE_STATES, type DeviceState, METHOD_NAMES, METHODS } from '@keyline/wire-protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertCanSign,
  assertMethodAllowed,
  canSign,
  LIFECYCLE_EVENTS,
  type LifecycleEvent,
  METHOD_EVENTS,
  nextState,
  STATE_ERRORS,
  TRANSITIONS,
  transition,
} from '../../src/device/lifecycle.js';
import { isSignerError, SignerError } from '../../src/errors.js';

/** The table written out independently of the module: every accepted pair, nothing else. */
const EXPECTED: Record<string, DeviceState> = {
  'uninitialized/keyLoaded': 'locked',
  'uninitialized/stateFailClosed': 'uninitialized',
  'locked/unlocked': 'unlocked',
  'locked/stateFailClosed': 'locked',
  'unlocked/activated': 'armed',
  'unlocked/lock': 'locked',
  'unlocked/stateFailClosed': 'locked',
  'armed/pause': 'paused',
  'armed/lock': 'locked',
  'armed/refusalLockout': 'paused',
  'armed/stateFailClosed': 'locked',
  'paused/resume': 'armed',
  'paused/lock': 'locked',
  'paused/refusalLockout': 'paused',
  'paused/stateFailClosed': 'locked',
};

const EXPECTED_ERROR: Record<DeviceState, string> = {
  uninitialized: 'LOCKED',
  locked: 'LOCKED',
  unlocked: 'NOT_ARMED',
  armed: 'NOT_ARMED',
  paused: 'PAUSED',
};

function thrown(f: () => unknown): SignerError {
  try {
    f();
  } catch (e) {
    if (e instanceof SignerError) return e;
    throw e;
  }
  throw new Error('expected a SignerError, nothing was thrown');
}

describe('transition table', () => {
  it('covers exactly 5 states x 8 events', () => {
    expect([...DEVICE_STATES].sort()).toEqual(Object.keys(TRANSITIONS).sort());
    expect(LIFECYCLE_EVENTS).toHaveLength(8);
  });

  for (const state of DEVICE_STATES) {
    for (const event of LIFECYCLE_EVENTS) {
      const want = EXPECTED[`${state}/${event}`];
      if (want !== undefined) {
        it(`${state} --${event}--> ${want}`, () => {
          expect(transition(state, event)).toBe(want);
          expect(nextState(state, event)).toBe(want);
        });
      } else {
        it(`${state} refuses ${event} with ${EXPECTED_ERROR[state]}`, () => {
          const e = thrown(() => transition(state, event));
          expect(e.code).toBe(EXPECTED_ERROR[state]);
          expect(e.kind).toBe('state');
          expect(e.message).toMatch(/^device\/lifecycle\/transition: expected state .* got /);
          expect(e.detail).toMatchObject({ state, reason: 'INVALID_TRANSITION' });
          expect(nextState(state, event)).toBeNull();
        });
      }
    }
  }

  it('is frozen data', () => {
    expect(Object.isFrozen(TRANSITIONS)).toBe(true);
    for (const s of DEVICE_STATES) expect(Object.isFrozen(TRANSITIONS[s])).toBe(true);
    expect(Object.isFrozen(STATE_ERRORS)).toBe(true);
    expect(() => {
      (TRANSITIONS.locked as Record<string, string>).activated = 'armed';
    }).toThrow(TypeError);
    expect(() => transition('locked', 'activated')).toThrow(SignerError);
  });

  it('refuses a value that is not a state (STATE_CORRUPT) or not an event', () => {
    expect(thrown(() => transition('ARMED' as DeviceState, 'pause')).code).toBe('STATE_CORRUPT');
    expect(thrown(() => transition('constructor' as DeviceState, 'pause')).code).toBe(
      'STATE_CORRUPT',
    );
    expect(thrown(() => transition('armed', 'toString' as LifecycleEvent)).code).toBe('BAD_CONFIG');
    expect(thrown(() => transition('armed', 'sign' as LifecycleEvent)).kind).toBe('malformed');
  });

  it('accepts the same source states for a method event as METHODS.allowedStates', () => {
    for (const [method, event] of Object.entries(METHOD_EVENTS)) {
      const allowed = METHODS[method as keyof typeof METHOD_EVENTS].allowedStates;
      const sources = DEVICE_STATES.filter((s) => nextState(s, event) !== null);
      expect([...sources].sort(), method).toEqual([...allowed].sort());
    }
  });
});

describe('signing and methods by state', () => {
  it('only armed can sign, and sign_psbt is allowed only in armed', () => {
    expect(DEVICE_STATES.filter(canSign)).toEqual(['armed']);
    expect(METHODS.sign_psbt.allowedStates).toEqual(['armed']);
    expect(() => assertCanSign('armed')).not.toThrow();
    for (const s of ['uninitialized', 'locked', 'unlocked', 'paused'] as const) {
      expect(thrown(() => assertCanSign(s)).code).toBe(EXPECTED_ERROR[s]);
    }
  });

  it('assertMethodAllowed follows METHODS.allowedStates for every method and state', () => {
    for (const m of METHOD_NAMES) {
      for (const s of DEVICE_STATES) {
        if (METHODS[m].allowedStates.includes(s)) {
          expect(() => assertMethodAllowed(m, s)).not.toThrow();
        } else {
          expect(thrown(() => assertMethodAllowed(m, s)).code).toBe(EXPECTED_ERROR[s]);
        }
      }
    }
    expect(thrown(() => assertMethodAllowed('sign' as 'ping', 'armed')).code).toBe('BAD_CONFIG');
  });
});

const anyEvent = fc.constantFrom(...LIFECYCLE_EVENTS);

/** Applies the events, skipping refused ones; calls `visit` after every accepted step. */
function walk(
  events: readonly LifecycleEvent[],
  visit: (state: DeviceState, applied: readonly LifecycleEvent[]) => void,
): void {
  let state: DeviceState = 'uninitialized';
  const applied: LifecycleEvent[] = [];
  for (const ev of events) {
    let next: DeviceState;
    try {
      next = transition(state, ev);
    } catch (e) {
      if (!isSignerError(e)) throw e;
      expect(e.kind).toBe('state');
      continue;
    }
    state = next;
    applied.push(ev);
    visit(state, applied);
  }
}

describe('lifecycle properties', () => {
  it('no path reaches armed without `activated` after the latest `unlocked`', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        walk(events, (state, applied) => {
          if (state !== 'armed') return;
          const lastUnlock = applied.lastIndexOf('unlocked');
          const lastActivation = applied.lastIndexOf('activated');
          expect(lastUnlock).toBeGreaterThanOrEqual(0);
          expect(lastActivation).toBeGreaterThan(lastUnlock);
          // nothing that wipes the key happened since that activation
          const since = applied.slice(lastActivation);
          expect(since).not.toContain('lock');
          expect(since).not.toContain('stateFailClosed');
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('a state that can sign is always armed; paused and refusalLockout never sign', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        walk(events, (state, applied) => {
          expect(canSign(state)).toBe(state === 'armed');
          const last = applied[applied.length - 1];
          if (last === 'refusalLockout' || last === 'pause') expect(state).toBe('paused');
          if (last === 'lock' || (last === 'stateFailClosed' && applied.includes('keyLoaded')))
            expect(state).toBe('locked');
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('every state is reachable from uninitialized', () => {
    const seen = new Set<DeviceState>(['uninitialized']);
    walk(['keyLoaded', 'unlocked', 'activated', 'pause', 'resume', 'lock'], (s) => seen.add(s));
    expect([...seen].sort()).toEqual([...DEVICE_STATES].sort());
  });
});
