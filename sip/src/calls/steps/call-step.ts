/** One stage of a call's life (intro, wait with music, …), started and stopped by the call. */
export interface CallStep {
  readonly name: string;
  start(): Promise<void>;
  /** Cancels what the step scheduled. Media is the call's to release, not the step's. */
  stop(): void;
}
