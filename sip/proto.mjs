import { readFileSync } from 'node:fs';
const file = new URL('../node_modules/sip.js/lib/grammar/pegjs/dist/grammar.js', import.meta.url);
let src = readFileSync(file, 'utf8');
const cut = (start, endMarker) => { const s = src.indexOf(start); const e = src.indexOf(endMarker, s) + endMarker.length; const piece = src.slice(s, e); src = src.slice(0, s) + src.slice(e); return piece; };
const bytecode = cut('    const peg$bytecode = [', '\n    ];\n');
const decode = cut('    function peg$decode(s) {', '\n    }\n');
const at = src.indexOf('function peg$parse(input, options) {');
src = src.slice(0, at) + decode + bytecode + src.slice(at);
src = src.replace(/from "(\.\.?\/[^"]+)"/g, (_, rel) => `from "${new URL(rel, file).href}"`);
const fast = await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));
const orig = await import('sip.js/lib/grammar/pegjs/dist/grammar.js');
const text = readFileSync('/tmp/invite.txt', 'utf8');
const lines = text.split('\r\n\r\n')[0].split('\r\n').slice(1);
const rules = { via: 'Via', from: 'From', to: 'To', 'record-route': 'Record_Route', contact: 'Contact', 'call-id': 'Call_ID', cseq: 'CSeq', 'max-forwards': 'Max_Forwards', 'content-length': 'Content_Length', 'content-type':'Content_Type' };
function run(p, value, rule) { const o = { startRule: rule }; try { p.parse(value, o); } catch { o.data = -1; } return o.data; }
let so = 0, sf = 0;
for (const l of lines) {
  const i = l.indexOf(':'); const name = l.slice(0, i).trim().toLowerCase(); const value = l.slice(i + 1).trim();
  const rule = rules[name]; if (!rule) continue;
  const a = JSON.stringify(run(orig, value, rule)), b = JSON.stringify(run(fast, value, rule));
  for (let k = 0; k < 50; k++) { run(orig, value, rule); run(fast, value, rule); }
  let t = performance.now(); for (let k = 0; k < 200; k++) run(orig, value, rule); const to = (performance.now() - t) / 200;
  t = performance.now(); for (let k = 0; k < 200; k++) run(fast, value, rule); const tf = (performance.now() - t) / 200;
  so += to; sf += tf;
  console.log(name.padEnd(15), to.toFixed(3), '->', tf.toFixed(3), 'ms', a === b ? 'same' : 'DIFFERENT');
}
console.log('sum', so.toFixed(3), sf.toFixed(3));
