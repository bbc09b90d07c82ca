import type { EndReason, PatientCall } from './patient-call.js';

/** The calls this process owns, so that a shutdown can end each one. */
export class CallRegistry {
  private readonly calls = new Map<string, PatientCall>();

  get size(): number {
    return this.calls.size;
  }

  /** The calls the router may pair with an agent, longest waiting first. */
  routable(): PatientCall[] {
    return [...this.calls.values()]
      .filter((call) => call.routable)
      .sort((a, b) => (a.queuedAt ?? 0) - (b.queuedAt ?? 0));
  }

  /** The call with this id (rtpengine's call id), while this process has it. */
  get(id: string): PatientCall | undefined {
    return this.calls.get(id);
  }

  /** Tracks the call until it has ended. */
  add(call: PatientCall): void {
    this.calls.set(call.id, call);
    void call.ended.then(() => this.calls.delete(call.id));
  }

  /** rtpengine restarted: every call gets back what the patient heard, or ends (PatientCall.afterRtpengineRestart). */
  async afterRtpengineRestart(): Promise<void> {
    await Promise.all([...this.calls.values()].map((call) => call.afterRtpengineRestart()));
  }

  /** Ends every call (with a BYE where the dialog allows it) and waits for their cleanup. */
  async endAll(reason: EndReason): Promise<void> {
    await Promise.all([...this.calls.values()].map((call) => call.end(reason, { bye: true })));
  }

  /** Leaves every call for the next instance to adopt (see PatientCall.leave) and waits for their writes. */
  async leaveAll(): Promise<void> {
    await Promise.all([...this.calls.values()].map((call) => call.leave()));
  }
}
