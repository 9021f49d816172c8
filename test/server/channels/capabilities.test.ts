import { describe, expect, it } from 'vitest';
import { capabilities, capabilityAllows } from '../../../src/server/index.js';

describe('Ably-style capabilities', () => {
  const caps = { 'chat:*': ['subscribe', 'publish'], 'user:42': ['subscribe'], 'room:*-ops': ['subscribe'] };

  it.each([
    ['chat:general', 'subscribe', true],
    ['chat:a:b', 'publish', true],
    ['user:42', 'subscribe', true],
    ['user:42', 'publish', false],
    ['user:43', 'subscribe', false],
    ['room:db-ops', 'subscribe', true],
    ['room:db:x-ops', 'subscribe', false],
    ['chatx:general', 'subscribe', false],
  ] as const)('%s %s -> %s', (channel, action, allowed) => {
    expect(capabilityAllows(caps, channel, action)).toBe(allowed);
  });

  it('accepts the claim as JSON text, and `*` for every channel or action', () => {
    expect(capabilityAllows(JSON.stringify(caps), 'chat:x', 'subscribe')).toBe(true);
    expect(capabilityAllows({ '*': ['*'] }, 'any:thing', 'publish')).toBe(true);
  });

  it.each([
    ['no claim', undefined],
    ['an array', [['chat:*', ['subscribe']]]],
    ['bad JSON', '{not json'],
    ['an unknown action', { 'chat:*': ['admin'] }],
    ['actions not a list', { 'chat:*': 'subscribe' }],
    ['a pattern with a regex in it', { 'chat:.+': ['subscribe'] }],
    [
      'too many entries',
      Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}:*`, ['subscribe']])),
    ],
  ])('%s grants nothing (no escalation)', (_n, claim) => {
    expect(capabilityAllows(claim, 'chat:x', 'subscribe')).toBe(false);
  });

  it('as a channel authorize, reads the configured claim', () => {
    const authorize = capabilities({ claim: 'x-caps' });
    const user = { id: 'u', claims: { 'x-caps': { 'chat:*': ['subscribe'] } } };
    expect(authorize(user, {}, { channel: 'chat:a', pattern: 'chat:{r}', action: 'subscribe' })).toBe(true);
    expect(authorize(user, {}, { channel: 'chat:a', pattern: 'chat:{r}', action: 'publish' })).toBe(false);
    expect(authorize({ id: 'u' }, {}, { channel: 'chat:a', pattern: 'chat:{r}', action: 'subscribe' })).toBe(
      false,
    );
  });
});
