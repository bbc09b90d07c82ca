import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toE164 } from '@deskline/outbound-policy';
import { escapeFormula, parseCsv, toCsv, unescapeFormula } from '@deskline/signaling/services/csv';

const cells = (text: string) => {
  const rows = parseCsv(text, { maxRows: 100 });
  if (rows === 'too-many-rows') throw new Error('too many rows');
  return rows.map((row) => ({ line: row.line, cells: row.cells, ...(row.error ? { error: row.error } : {}) }));
};

test('contacts CSV: quoted cells keep their commas, quotes and line breaks, and lines are counted as the file has them', () => {
  assert.equal(cells('number,name\r\n"+48 601","Nowak, ""Zosia""\nsecond line"\n601,Anna\n'), [
    { line: 1, cells: ['number', 'name'] },
    { line: 2, cells: ['+48 601', 'Nowak, "Zosia"\nsecond line'] },
    { line: 4, cells: ['601', 'Anna'] },
  ]);
});

test('contacts CSV: a semicolon-separated file (European spreadsheets) is read by its first line', () => {
  assert.equal(cells('number;name;note\n601;Kowalski, Jan;x'), [
    { line: 1, cells: ['number', 'name', 'note'] },
    { line: 2, cells: ['601', 'Kowalski, Jan', 'x'] },
  ]);
});

test('contacts CSV: an unclosed quote is reported on the line it starts on; too many rows stop the parse', () => {
  assert.equal(cells('601,Anna\n602,"Ben\n'), [
    { line: 1, cells: ['601', 'Anna'] },
    { line: 2, cells: ['602', 'Ben\n'], error: 'a quoted cell is not closed (a " is missing)' },
  ]);
  assert.is(parseCsv('1\n2\n3\n', { maxRows: 2 }), 'too-many-rows');
});

test('contacts CSV: cells a spreadsheet would evaluate get an apostrophe, and the import takes it off again', () => {
  for (const cell of ["=cmd|' /C calc'!A0", '+48601234567', '-1+1', '@SUM(A1)', '\t=1', '\r=1']) {
    assert.is(escapeFormula(cell), `'${cell}`);
    assert.is(unescapeFormula(escapeFormula(cell)), cell);
  }
  assert.is(escapeFormula('Anna'), 'Anna');
  assert.is(unescapeFormula("'Anna"), "'Anna", 'an apostrophe of the name itself stays');
  assert.is(
    toCsv([
      ['number', 'name'],
      ['+48601234567', '=HYPERLINK("http://evil.example","x")'],
    ]),
    '\uFEFFnumber,name\r\n\'+48601234567,"\'=HYPERLINK(""http://evil.example"",""x"")"\r\n',
  );
});

test('contacts: numbers are read in the clinic country and stored in E.164; what cannot be a number is undefined', () => {
  for (const spelling of ['601 234 567', '601-234-567', '+48 601 234 567', '0048601234567', '(+48) 601.234.567']) {
    assert.is(toE164(spelling, 'PL'), '+48601234567', spelling);
  }
  assert.is(toE164('030 1234567', 'DE'), '+49301234567');
  assert.is(toE164('+49 30 1234567', 'PL'), '+49301234567');
  for (const bad of ['', 'anonymous', '12', '601 234 567 890 123 456 789', '=1+2', '*100#', '+48 abc']) {
    assert.is(toE164(bad, 'PL'), undefined, bad);
  }
});

test.run();
