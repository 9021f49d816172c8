import { escapeTerminal } from './escape.js';

/** One line per check: a mark, the name, the time, and a short detail. */
export interface CheckLine {
  name: string;
  ok: boolean;
  /** Replaces the ✔/✖ mark (e.g. the audit's warn and skip marks). */
  mark?: string;
  ms: number;
  detail?: string;
}

const tty = () => process.stdout.isTTY === true && !process.env.NO_COLOR;
export const paint = (code: number, s: string) => (tty() ? `\x1b[${code}m${s}\x1b[0m` : s);

/** The name and the detail may carry server text: escape sequences in them are shown, not run. */
export function formatLine(l: CheckLine): string {
  const mark = l.mark ?? (l.ok ? paint(32, '✔') : paint(31, '✖'));
  const ms = `${Math.round(l.ms)} ms`.padStart(8);
  const detail = l.detail ? `  ${paint(90, escapeTerminal(l.detail))}` : '';
  return `${mark} ${escapeTerminal(l.name).padEnd(34)}${ms}${detail}`;
}

/** A spinner on a TTY while `work` runs; silent otherwise (CI logs stay clean). */
export async function withSpinner<T>(label: string, work: Promise<T>): Promise<T> {
  if (!tty()) return work;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const timer = setInterval(() => process.stdout.write(`\r${frames[i++ % frames.length]} ${label}`), 80);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    process.stdout.write(`\r${' '.repeat(label.length + 2)}\r`);
  }
}
