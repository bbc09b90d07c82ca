import { next, reject, type InviteStep } from './invite-chain.js';

/** The dialled number (Request-URI user) must be one of CLINIC_NUMBERS. */
export function findClinicLine(clinicNumbers: readonly string[]): InviteStep {
  const lines = new Set(clinicNumbers);
  return {
    name: 'find-clinic-line',
    run: (context) => {
      const dialled = context.request.message.ruri?.user;
      if (dialled === undefined || !lines.has(dialled)) {
        return reject(404, 'Not Found', `dialled number ${JSON.stringify(dialled ?? '')} is not a clinic line`);
      }
      context.line = dialled;
      return next;
    },
  };
}
