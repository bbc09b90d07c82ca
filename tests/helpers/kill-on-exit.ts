import type { ManagedProcess } from '@deskline/scripts/managed-process';

const owned = new Set<ManagedProcess>();

/**
 * Servers a test starts run in their own process groups, so they would outlive a test file that
 * crashes before its `after` hook. This kills them when the test process exits, however it exits
 * short of SIGKILL (an uncaught error, a closed pipe, the end of the file).
 */
export function killOnExit(proc: ManagedProcess): ManagedProcess {
  if (owned.size === 0) process.once('exit', () => owned.forEach((p) => p.killNow()));
  owned.add(proc);
  void proc.exited.then(() => owned.delete(proc));
  return proc;
}
