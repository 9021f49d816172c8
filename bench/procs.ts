import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether `taskset` can pin a process to a core here (Linux with util-linux). */
export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/** Runs node with `args` on `core` when taskset exists (else unpinned), with an IPC channel. */
export function spawnPinned(args: string[], core: number, env: NodeJS.ProcessEnv): ChildProcess {
  const node = [process.execPath, ...args];
  const [cmd, ...rest] = hasTaskset ? ['taskset', '-c', String(core), ...node] : node;
  return spawn(cmd as string, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
}

const TICK_US = (() => {
  try {
    return 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  } catch {
    return 1e4;
  }
})();

/** User and system CPU time of a process so far, in µs, from /proc (undefined without it). */
export function procCpu(pid: number | undefined): { user: number; sys: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) * TICK_US, sys: Number(f[12]) * TICK_US };
  } catch {
    return undefined;
  }
}
