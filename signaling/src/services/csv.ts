/**
 * CSV (RFC 4180) as spreadsheets write it: comma-separated, cells in double quotes when they hold a
 * comma, a quote (doubled) or a line break; lines end in CRLF or LF. A semicolon-separated file (what
 * spreadsheets in many European locales save) is read too, when its first line has semicolons and
 * no commas.
 */

/** One record of the file: its cells, and the line it starts on (1-based), or why it cannot be read. */
export interface CsvRow {
  line: number;
  cells: string[];
  error?: string;
}

/** The file's records; 'too-many-rows' as soon as there are more than `maxRows`. */
export function parseCsv(text: string, options: { maxRows: number }): CsvRow[] | 'too-many-rows' {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const separator = firstLine.includes(';') && !firstLine.includes(',') ? ';' : ',';
  const rows: CsvRow[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const row: CsvRow = { line, cells: [] };
    let cell = '';
    let quoted = false;
    let end = false;
    while (i < text.length && !end) {
      const ch = text[i]!;
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          quoted = false;
        } else {
          if (ch === '\n') line++;
          cell += ch;
        }
        i++;
        continue;
      }
      if (ch === '"' && cell.trim() === '') {
        quoted = true;
        cell = '';
      } else if (ch === separator) {
        row.cells.push(cell);
        cell = '';
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && text[i + 1] === '\n') i++;
        end = true;
      } else {
        cell += ch;
      }
      i++;
    }
    if (quoted) row.error = 'a quoted cell is not closed (a " is missing)';
    row.cells.push(cell);
    rows.push(row);
    if (rows.length > options.maxRows) return 'too-many-rows';
    line++;
  }
  return rows;
}

/**
 * A cell a spreadsheet would run as a formula (= + - @ at its start, or a tab or carriage return
 * before one: OWASP's "CSV injection") gets a leading apostrophe, so it is shown as text.
 */
export function escapeFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

function quote(cell: string): string {
  return /[",\r\n;]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** A cell as it was before escapeFormula: what an import of an exported file reads. */
export function unescapeFormula(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/**
 * Rows as a CSV file (CRLF, UTF-8 with a byte-order mark so that spreadsheets read names with
 * accents right). Every cell is formula-escaped, E.164 numbers too ('+48…: a spreadsheet would
 * otherwise take it for a sum and drop the +); the import takes the apostrophe off again.
 */
export function toCsv(rows: readonly (readonly string[])[]): string {
  const lines = rows.map((cells) => cells.map((cell) => quote(escapeFormula(cell))).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
