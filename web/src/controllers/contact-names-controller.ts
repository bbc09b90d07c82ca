import type { Contact, TaskView } from '@deskline/protocol';
import { CONTACT_LOOKUP_MAX, isWithheld } from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { log } from '../services/log.js';
import type { ApiClient } from '../services/api-client.js';

const debug = log('dl:contacts');

/**
 * The contacts of the numbers the call board shows (issue 16, item 5): each number the board gets
 * is looked up once (POST /api/contacts/lookup, which reads it in the clinic's country as the server
 * stores contacts), and the host re-renders with the names. A contact added or changed in this
 * browser is put in at once (`put`); one changed elsewhere shows after the next reload.
 */
export class ContactNamesController implements ReactiveController {
  /** Contact by number in the spelling calls carry; null: looked up, no contact. */
  #known = new Map<string, Contact | null>();
  /** The contacts found, by number as calls spell it: a new map at each change, for elements' properties. */
  byNumber: ReadonlyMap<string, Contact> = new Map();
  #asking = new Set<string>();
  #connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly api: () => ApiClient,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.#connected = true;
  }

  hostDisconnected(): void {
    this.#connected = false;
  }

  /** Looks up the numbers of these tasks that have not been looked up yet. */
  watch(tasks: Iterable<TaskView>): void {
    const numbers = new Set<string>();
    for (const task of tasks) {
      const number = task.patient;
      if (!isWithheld(number) && !this.#known.has(number) && !this.#asking.has(number)) numbers.add(number);
    }
    if (numbers.size > 0) void this.#lookUp([...numbers].slice(0, CONTACT_LOOKUP_MAX));
  }

  /** A contact saved in this browser, under the spelling of the number it was saved from (and its E.164). */
  put(contact: Contact, asSpelled?: string): void {
    this.#known.set(contact.number, contact);
    if (asSpelled !== undefined) this.#known.set(asSpelled, contact);
    for (const [number, known] of this.#known) if (known?.number === contact.number) this.#known.set(number, contact);
    this.#changed();
  }

  /** A contact deleted in this browser: its numbers are looked up again when shown. */
  forget(number: string): void {
    for (const [spelling, known] of this.#known) if (known?.number === number) this.#known.delete(spelling);
    this.#changed();
  }

  /** Many contacts changed (an import): every number is looked up again at the next `watch`. */
  reset(): void {
    this.#known.clear();
    this.#changed();
  }

  #changed(): void {
    const found = new Map<string, Contact>();
    for (const [number, contact] of this.#known) if (contact) found.set(number, contact);
    this.byNumber = found;
    if (this.#connected) this.host.requestUpdate();
  }

  async #lookUp(numbers: string[]): Promise<void> {
    for (const number of numbers) this.#asking.add(number);
    try {
      const found = await this.api().lookupContacts({ body: { numbers } });
      for (const number of numbers) this.#known.set(number, null);
      for (const { asked, contact } of found) this.#known.set(asked, contact);
      this.#changed();
    } catch (error) {
      // Names are a help, not the board: it goes on with numbers, and asks again at the next change.
      debug('lookup failed', error);
    } finally {
      for (const number of numbers) this.#asking.delete(number);
    }
  }
}
