import { CallRegistry } from '../calls/call-registry.js';
import { PatientCall, type PatientCallDeps } from '../calls/patient-call.js';
import { taken, type InviteStep } from './invite-chain.js';

/** Creates the PatientCall, which answers the patient and takes the call through the queue. */
export function admitToQueue(deps: PatientCallDeps, registry: CallRegistry): InviteStep {
  return {
    name: 'admit-to-queue',
    run: ({ request, log, line, receivedAt }) => {
      if (line === undefined) throw new Error('admit-to-queue runs after find-clinic-line');
      const call = PatientCall.fromInvite(request, line, deps, log, receivedAt);
      registry.add(call);
      call.answer().catch((err: unknown) => call.log.error({ err }, 'answering the patient failed'));
      return taken;
    },
  };
}
