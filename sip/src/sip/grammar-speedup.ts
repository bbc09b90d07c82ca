import { readFile } from 'node:fs/promises';
import { Grammar } from 'sip.js/lib/core/index.js';

/**
 * sip.js 0.21 parses every header it knows (Via, From, To, Call-ID, CSeq, Contact, Record-Route, …)
 * with a generated PEG parser whose bytecode, some 230 strings, is decoded again at the start of every
 * parse. That decoding is most of a parse's cost: about 0.1 ms per header, 2–3 ms per INVITE on the
 * sip app's critical path, and again for every ACK, BYE and keepalive answer (bench/README.md,
 * "Post-dial delay").
 *
 * `speedUpSipGrammar()` loads the same generated module once more with its bytecode table and the
 * decoder moved to module scope, so that it is decoded once, and points `Grammar.parse` (which sip.js's
 * message parser calls through the `Grammar` object) at it. Nothing else in the module changes: the
 * table is constant data, read and never written. If the file does not have the shape this expects
 * (another sip.js version), nothing is replaced and the reason is returned for a warning.
 * tests/unit/sip/grammar-speedup.test.ts checks that both parsers give the same results.
 */

/** Where the generated grammar is, and the pieces moved out of `peg$parse`. */
const GRAMMAR_MODULE = 'sip.js/lib/grammar/pegjs/dist/grammar.js';
const PARSE_START = 'function peg$parse(input, options) {';
const BYTECODE = { start: '    const peg$bytecode = [', end: '\n    ];\n' };
const DECODER = { start: '    function peg$decode(s) {', end: '\n    }\n' };

interface GeneratedGrammar {
  parse(input: string, options: { startRule: string; data?: unknown }): unknown;
}

/** What `speedUpSipGrammar` did: `applied`, or why not. */
export type GrammarSpeedup = { applied: true } | { applied: false; reason: string };

let outcome: Promise<GrammarSpeedup> | undefined;

/** Once per process; later calls return the first one's outcome. */
export function speedUpSipGrammar(): Promise<GrammarSpeedup> {
  outcome ??= apply();
  return outcome;
}

/** The generated module with its bytecode decoded once, or why it could not be made. */
export async function loadHoistedGrammar(): Promise<GeneratedGrammar | string> {
  const file = import.meta.resolve(GRAMMAR_MODULE);
  const source = await readFile(new URL(file), 'utf8');
  const rewritten = hoist(source, file);
  if (typeof rewritten === 'string' && rewritten.startsWith('!')) return rewritten.slice(1);
  const module = (await import(
    `data:text/javascript;base64,${Buffer.from(rewritten).toString('base64')}`
  )) as Partial<GeneratedGrammar>;
  if (typeof module.parse !== 'function') return 'the rewritten grammar has no parse()';
  return module as GeneratedGrammar;
}

async function apply(): Promise<GrammarSpeedup> {
  let grammar: GeneratedGrammar | string;
  try {
    grammar = await loadHoistedGrammar();
  } catch (err) {
    return { applied: false, reason: (err as Error).message };
  }
  if (typeof grammar === 'string') return { applied: false, reason: grammar };
  const parse = grammar.parse.bind(grammar);
  // The same contract as sip.js's own Grammar.parse: the rule's result, or -1 when the input does not match.
  Grammar.parse = (input: string, startRule: string): unknown => {
    const options: { startRule: string; data?: unknown } = { startRule };
    try {
      parse(input, options);
    } catch {
      options.data = -1;
    }
    return options.data;
  };
  return { applied: true };
}

/**
 * The module's source with the bytecode table and its decoder moved in front of `peg$parse`, and its
 * relative imports made absolute (it is loaded from a data: URL). A string starting with `!` says why
 * it could not be done.
 */
function hoist(source: string, file: string): string {
  let rest = source;
  const cut = (piece: { start: string; end: string }): string | undefined => {
    const start = rest.indexOf(piece.start);
    if (start === -1 || rest.indexOf(piece.start, start + 1) !== -1) return undefined;
    const end = rest.indexOf(piece.end, start);
    if (end === -1) return undefined;
    const text = rest.slice(start, end + piece.end.length);
    rest = rest.slice(0, start) + rest.slice(end + piece.end.length);
    return text;
  };
  if (rest.split(PARSE_START).length !== 2) return `!${GRAMMAR_MODULE} has no single peg$parse`;
  const bytecode = cut(BYTECODE);
  const decoder = cut(DECODER);
  if (!bytecode || !decoder) return `!${GRAMMAR_MODULE} has no bytecode table of the expected shape`;
  // The decoder and the table may use nothing of peg$parse's scope: only string literals and peg$decode.
  if (/peg\$(?!decode\b|bytecode\b)/.test(bytecode)) return '!the bytecode table refers to something else';
  const at = rest.indexOf(PARSE_START);
  rest = rest.slice(0, at) + decoder + bytecode + rest.slice(at);
  return rest.replace(/from "(\.\.?\/[^"]+)"/g, (_match, relative: string) => `from "${new URL(relative, file).href}"`);
}
