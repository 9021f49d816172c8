import { describe, expect, it } from 'vitest';
import { escapeHtml, richText, safeText } from '../../src/server/index.js';

describe('safeText', () => {
  const text = safeText({ max: 50 });
  it('accepts ordinary text, unicode and line breaks', () => {
    for (const s of ['hello', 'héllo wörld 👋', 'line 1\nline 2', 'tab\tok', '<b>shown as text</b>']) {
      expect(text.safeParse(s).success).toBe(true);
    }
  });
  it.each([
    ['a null byte', 'a\u0000b'],
    ['a bell', 'a\u0007b'],
    ['an escape', '\u001b[31mred'],
    ['a C1 control', 'a\u0085b'],
    ['RLO bidi override', 'abc\u202Etxt.exe'],
    ['LRI isolate', 'a\u2066b'],
    ['too long', 'x'.repeat(51)],
  ])('refuses %s', (_n, s) => {
    expect(text.safeParse(s).success).toBe(false);
  });
  it('refuses line breaks when not multiline', () => {
    expect(safeText({ multiline: false }).safeParse('a\nb').success).toBe(false);
  });
});

describe('richText', () => {
  const rich = richText();
  it('keeps formatting, strips scripts, handlers and javascript: URLs', () => {
    const out = rich.parse(
      '<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a><a href="https://ok.example">ok</a>',
    );
    expect(out).toContain('<b>bold</b>');
    expect(out).toContain('href="https://ok.example"');
    expect(out).not.toMatch(/<script|onerror|javascript:|<img/i);
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});
