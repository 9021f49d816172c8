import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineProtocol, messageSchemas } from '../../src/protocol/index.js';

describe('defineProtocol', () => {
  it('returns the protocol object itself, and messageSchemas gives the server its type -> payload schema map', () => {
    const chat = z.object({ text: z.string() });
    const lookupPayload = z.object({ id: z.string() });
    const protocol = defineProtocol({
      messages: { chat, lookup: { payload: lookupPayload, result: z.object({ name: z.string() }) } },
      channels: { 'room:{name}': { publish: { typing: z.object({}) } } },
    });
    expect(protocol.channels['room:{name}'].publish.typing).toBeDefined();
    const schemas = messageSchemas(protocol.messages);
    expect(schemas.chat).toBe(chat);
    expect(schemas.lookup).toBe(lookupPayload);
    expect(schemas.lookup.safeParse({ id: 1 }).success).toBe(false);
  });
});
