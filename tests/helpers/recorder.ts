/**
 * What a test records as it arrives (events, messages, packets, connections), and a bounded wait
 * for a condition over it, re-checked on every new item: no polling, no fixed sleeps.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly listeners = new Set<() => void>();

  /**
   * `name` starts a timeout's message; `describe`, if given, adds what was recorded to it (from
   * the index the wait started at).
   */
  constructor(
    private readonly name: string,
    private readonly describe?: (items: readonly T[]) => string,
  ) {}

  add(item: T): void {
    this.items.push(item);
    this.changed();
  }

  /** Re-checks the waits: for a recorder whose items change in place (a connection's messages). */
  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** How many items have been recorded: pass it as `from` to wait only for later ones. */
  mark(): number {
    return this.items.length;
  }

  /** Drops every item so far (a long benchmark keeps only the window it is measuring). */
  clear(): void {
    this.items.length = 0;
  }

  /** Resolves with the first item from index `from` on (already recorded or still to come) that matches. */
  waitFor<U extends T>(
    what: string,
    match: ((item: T) => item is U) | ((item: T) => boolean),
    from = 0,
    timeoutMs = 5_000,
  ): Promise<U> {
    return this.waitUntil(what, (items) => items.slice(from).find(match) as U | undefined, timeoutMs, from);
  }

  /** Resolves with the first value of `check` other than undefined, checked now and on every new item. */
  waitUntil<R>(what: string, check: (items: readonly T[]) => R | undefined, timeoutMs = 5_000, from = 0): Promise<R> {
    const now = check(this.items);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const listener = (): void => {
        const value = check(this.items);
        if (value === undefined) return;
        finish();
        resolve(value);
      };
      const timer = setTimeout(() => {
        finish();
        const seen = this.describe
          ? `; recorded: ${this.describe(this.items.slice(from)) || 'nothing'}`
          : ` (${this.items.length} recorded)`;
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}${seen}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
    });
  }
}
