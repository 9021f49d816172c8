import { FilterXSS, type IFilterXSSOptions } from 'xss';
import { z } from 'zod';

// C0/C1 control characters except tab and newlines, and the Unicode bidi overrides and
// isolates used to make text read differently from how it is stored (Trojan Source).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters refused
const UNSAFE_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export interface SafeTextOptions {
  /** Shortest accepted length. @default 0 */
  min?: number;
  /** Longest accepted length. @default 2000 */
  max?: number;
  /** Allow line breaks (\n, \r). @default true */
  multiline?: boolean;
}

/**
 * A Zod string for plain user text: refuses null bytes, control characters and bidi
 * overrides. Use it for anything shown to other users; render it as text (never as HTML).
 */
export function safeText(options: SafeTextOptions = {}) {
  const { min = 0, max = 2000, multiline = true } = options;
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !UNSAFE_TEXT.test(s) && (multiline || !/[\r\n]/.test(s)), {
      message: 'Text contains control or direction-override characters',
    });
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML text or quoted-attribute context. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

const DEFAULT_RICH: IFilterXSSOptions = {
  whiteList: {
    b: [],
    i: [],
    em: [],
    strong: [],
    code: [],
    pre: [],
    p: [],
    br: [],
    ul: [],
    ol: [],
    li: [],
    blockquote: [],
    a: ['href', 'title'],
  },
  stripIgnoreTag: true,
  stripIgnoreTagBody: ['script', 'style'],
};

/**
 * A Zod string for fields the app renders as HTML (rich text): the value is passed through
 * js-xss with a small allow-list (formatting tags and links; no scripts, styles, event
 * handlers or `javascript:` URLs). Prefer `safeText` and render as text whenever you can.
 */
export function richText(options: { max?: number; xss?: IFilterXSSOptions } = {}) {
  const filter = new FilterXSS(options.xss ?? DEFAULT_RICH);
  return z
    .string()
    .max(options.max ?? 10_000)
    .refine((s) => !s.includes('\u0000'), { message: 'Text contains a null byte' })
    .transform((s) => filter.process(s));
}
