import { toE164 } from '@deskline/outbound-policy';
import {
  CONTACTS_MAX,
  CONTACT_CSV_COLUMNS,
  CONTACT_NAME_MAX_LENGTH,
  CONTACT_NOTE_MAX_LENGTH,
  type Contact,
  type ContactImportProblem,
  type ContactImportResult,
  type ContactLookup,
  type CreateContactBody,
  type UpdateContactBody,
} from '@deskline/protocol';
import type { ContactStore } from '@deskline/store';
import { ClientError } from '../errors.js';
import { parseCsv, toCsv, unescapeFormula } from './csv.js';

/** How many contacts an import's answer shows of the file. */
const IMPORT_SAMPLE = 10;
/** How many refused lines an import's answer lists; the count in the message says how many in all. */
const PROBLEMS_SHOWN = 100;

/** Spaces tidied: trimmed, and each run (newlines and tabs too) made one space. */
const tidy = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** What is wrong with a name, or undefined. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.length > CONTACT_NAME_MAX_LENGTH) return `the name is longer than ${CONTACT_NAME_MAX_LENGTH} characters`;
  if (/\p{Cc}/u.test(name)) return 'the name contains control characters';
  return undefined;
}

function noteProblem(note: string): string | undefined {
  if (note.length > CONTACT_NOTE_MAX_LENGTH) return `the note is longer than ${CONTACT_NOTE_MAX_LENGTH} characters`;
  if (/\p{Cc}/u.test(note)) return 'the note contains control characters';
  return undefined;
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * Reads the bytes of an import as text: UTF-8, with or without a byte-order mark. Anything else
 * (UTF-16, a Latin-1 or Windows-1252 export from an old spreadsheet) is refused with a message that
 * says how to save it, rather than guessed at and stored with mangled names.
 */
function decodeCsv(bytes: Uint8Array): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new ClientError(400, 'The file is UTF-16. Save it as "CSV UTF-8" and import it again.');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ClientError(
      400,
      'The file is not UTF-8 text (perhaps Latin-1 or Windows-1252). Save it as "CSV UTF-8" and import it again.',
    );
  }
  if (text.includes('\u0000')) throw new ClientError(400, 'The file is not a text file (it holds NUL bytes).');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * Contacts (issue 16, item 5): numbers read in the clinic's country and stored in E.164, names and
 * notes checked, and CSV import (all or nothing) and export. The API's routes and the CLI use it.
 */
export class ContactService {
  constructor(
    private readonly store: ContactStore,
    /** CLINIC_COUNTRY: a national number is this country's. */
    private readonly country: string,
  ) {}

  /** The number in E.164, or undefined when it cannot be one. */
  normalize(number: string): string | undefined {
    return toE164(number, this.country);
  }

  /** The E.164 number, or a 400 naming what was given. */
  #number(number: string): string {
    const e164 = this.normalize(number);
    if (e164 === undefined) {
      throw new ClientError(400, `"${number.slice(0, 64)}" is not a phone number Deskline can read.`);
    }
    return e164;
  }

  async list(): Promise<Contact[]> {
    return (await this.store.list()).sort((a, b) => a.name.localeCompare(b.name) || a.number.localeCompare(b.number));
  }

  async get(number: string): Promise<Contact | undefined> {
    return this.store.get(this.#number(number));
  }

  async create(body: CreateContactBody, now = Date.now()): Promise<Contact> {
    const contact: Contact = {
      number: this.#number(body.number),
      name: tidy(body.name),
      note: tidy(body.note ?? ''),
      updatedAt: now,
    };
    const problem = nameProblem(contact.name) ?? noteProblem(contact.note);
    if (problem !== undefined) throw new ClientError(400, `${capitalized(problem)}.`);
    if ((await this.store.count()) >= CONTACTS_MAX) {
      throw new ClientError(409, `Deskline keeps at most ${CONTACTS_MAX} contacts; delete some first.`);
    }
    if (!(await this.store.add(contact))) {
      const existing = await this.store.get(contact.number);
      throw new ClientError(409, `${contact.number} is already a contact${existing ? ` (${existing.name})` : ''}.`);
    }
    return contact;
  }

  async update(number: string, body: UpdateContactBody, now = Date.now()): Promise<Contact> {
    const e164 = this.#number(number);
    const existing = await this.store.get(e164);
    if (!existing) throw new ClientError(404, `${e164} is not a contact.`);
    const contact: Contact = {
      number: e164,
      name: body.name === undefined ? existing.name : tidy(body.name),
      note: body.note === undefined ? existing.note : tidy(body.note),
      updatedAt: now,
    };
    const problem = nameProblem(contact.name) ?? noteProblem(contact.note);
    if (problem !== undefined) throw new ClientError(400, `${capitalized(problem)}.`);
    if (!(await this.store.replace(contact))) throw new ClientError(404, `${e164} is not a contact.`);
    return contact;
  }

  async delete(number: string): Promise<void> {
    const e164 = this.#number(number);
    if ((await this.store.delete(e164)) === 0) throw new ClientError(404, `${e164} is not a contact.`);
  }

  /** Removes the contact of an E.164 number, if any (`patient forget`); whether there was one. */
  async forget(e164: string): Promise<boolean> {
    return (await this.store.delete(e164)) > 0;
  }

  /**
   * The contacts of numbers in the spellings calls and tasks carry, with that spelling. A
   * number that cannot be normalized (withheld, a service code) simply has none.
   */
  async lookup(numbers: readonly string[]): Promise<ContactLookup> {
    const asked = [...new Set(numbers)].flatMap((raw) => {
      const e164 = this.normalize(raw);
      return e164 === undefined ? [] : [{ raw, e164 }];
    });
    const found = await this.store.getMany(asked.map((a) => a.e164));
    return asked.flatMap(({ raw }, i) => {
      const contact = found[i];
      return contact ? [{ asked: raw, contact }] : [];
    });
  }

  /**
   * Reads a CSV file (number,name,note; a header line naming the columns is optional) and stores it
   * unless `dryRun`: all or nothing. Any refused line (a number that cannot be normalized, an empty
   * or too long name, the same number twice) refuses the whole import and stores nothing, so a
   * failed import never leaves half a file behind; a number that is already a contact gets the
   * file's name and note.
   */
  async import(bytes: Uint8Array, options: { dryRun: boolean }, now = Date.now()): Promise<ContactImportResult> {
    const rows = parseCsv(decodeCsv(bytes), { maxRows: CONTACTS_MAX + 1 });
    if (rows === 'too-many-rows') {
      throw new ClientError(
        400,
        `The file has more than ${CONTACTS_MAX} lines; Deskline keeps at most ${CONTACTS_MAX} contacts.`,
      );
    }
    const problems: ContactImportProblem[] = [];
    let start = 0;
    const first = rows[0];
    if (first && tidy(first.cells[0] ?? '').toLowerCase() === CONTACT_CSV_COLUMNS[0]) start = 1;
    const contacts: Contact[] = [];
    const lineOf = new Map<string, number>();
    for (const row of rows.slice(start)) {
      const cells = row.cells;
      if (cells.every((cell) => cell.trim() === '')) continue;
      const problem = (message: string) => problems.push({ line: row.line, message });
      if (row.error !== undefined) {
        problem(row.error);
        continue;
      }
      if (cells.length > CONTACT_CSV_COLUMNS.length) {
        problem(`${cells.length} columns; expected ${CONTACT_CSV_COLUMNS.join(', ')}`);
        continue;
      }
      const [rawNumber = '', rawName = '', rawNote = ''] = cells.map((cell) => unescapeFormula(cell.trim()));
      const number = this.normalize(rawNumber);
      if (number === undefined) {
        problem(`"${rawNumber.trim().slice(0, 40)}" is not a phone number`);
        continue;
      }
      const name = tidy(rawName);
      const note = tidy(rawNote);
      // Names and notes are kept as written, "=…" too: the export escapes them again.
      const bad = nameProblem(name) ?? noteProblem(note);
      if (bad !== undefined) {
        problem(bad);
        continue;
      }
      const earlier = lineOf.get(number);
      if (earlier !== undefined) {
        problem(`${number} is also on line ${earlier}`);
        continue;
      }
      lineOf.set(number, row.line);
      contacts.push({ number, name, note, updatedAt: now });
    }
    const existing = await this.store.getMany(contacts.map((c) => c.number));
    let added = 0;
    let updated = 0;
    let unchanged = 0;
    const changed: Contact[] = [];
    contacts.forEach((contact, i) => {
      const old = existing[i];
      if (!old) added++;
      else if (old.name === contact.name && old.note === contact.note) {
        unchanged++;
        return;
      } else updated++;
      changed.push(contact);
    });
    const room = CONTACTS_MAX - ((await this.store.count()) + added);
    if (room < 0 && problems.length === 0) {
      problems.push({
        line: 0,
        message: `Deskline keeps at most ${CONTACTS_MAX} contacts; this file would make ${CONTACTS_MAX - room}`,
      });
    }
    const result: ContactImportResult = {
      imported: false,
      added,
      updated,
      unchanged,
      sample: contacts.slice(0, IMPORT_SAMPLE),
      problems: problems.slice(0, PROBLEMS_SHOWN),
    };
    if (problems.length > 0 && !options.dryRun) {
      const more = problems.length > PROBLEMS_SHOWN ? ` (the first ${PROBLEMS_SHOWN} are listed)` : '';
      throw new ContactImportRefused(
        result,
        `Nothing was imported: ${problems.length} line(s) cannot be taken${more}. Fix them and import the file again.`,
      );
    }
    if (options.dryRun) return result;
    await this.store.putAll(changed);
    return { ...result, imported: true };
  }

  /** Every contact as CSV (number,name,note), cells a spreadsheet would run as a formula escaped. */
  async export(): Promise<string> {
    const contacts = await this.list();
    return toCsv([[...CONTACT_CSV_COLUMNS], ...contacts.map((c) => [c.number, c.name, c.note])]);
  }
}

/** An import refused because of its lines: the answer (422) lists them; nothing was stored. */
export class ContactImportRefused extends Error {
  override name = 'ContactImportRefused';
  constructor(
    readonly result: ContactImportResult,
    message: string,
  ) {
    super(message);
  }
}
