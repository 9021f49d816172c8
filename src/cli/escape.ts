// Everything a target server sends is untrusted text: before it reaches a terminal or a Markdown
// report it is made inert here.

// C0 controls (ESC starts CSI/OSC sequences), DEL, C1 controls (0x9b is a one-byte CSI) and the
// bidirectional overrides that reorder what a reader sees.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string) => {
  const n = c.codePointAt(0) ?? 0;
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** Shows every control, escape and bidi character as `\xNN` / `\uNNNN`, on one line. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, hex);
}

/** Inline Markdown that renders exactly `text`: no links, images, HTML, emphasis or table breaks. */
export function escapeMarkdown(text: string): string {
  return escapeTerminal(text)
    .replace(/[\\`*_{}[\]()<>#!|~&]/g, (c) => `\\${c}`)
    .replace(/:\/\//g, '\\://');
}

// JSON.stringify escapes C0 controls but leaves DEL, C1 (0x9b is a one-byte CSI) and bidi
// controls raw; `\uXXXX` keeps the JSON identical in value.
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** JSON text safe to print on a terminal, the same value once parsed. */
export function escapeJson(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}
