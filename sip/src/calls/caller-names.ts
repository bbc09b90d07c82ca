import { toE164 } from '@deskline/outbound-policy';
import type { ContactStore } from '@deskline/store';

/**
 * The caller's name from the clinic's contacts (issue 16, item 5), for the ring's From display name:
 * the number as the trunk sent it, read in the clinic's country (CLINIC_COUNTRY) as signaling reads
 * contacts' numbers, then one HGET.
 */
export class CallerNames {
  constructor(
    private readonly contacts: ContactStore,
    private readonly country: string,
  ) {}

  async nameOf(number: string): Promise<string | undefined> {
    const e164 = toE164(number, this.country);
    return e164 === undefined ? undefined : (await this.contacts.get(e164))?.name;
  }
}
