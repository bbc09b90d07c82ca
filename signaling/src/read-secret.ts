/**
 * Reads a password: from a terminal with a prompt, without echo, asked twice; otherwise the first
 * line of standard input, so scripts can pipe it in. The secret never appears in argv or the shell history.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return readFirstLine();
  const first = await promptHidden(prompt);
  const second = await promptHidden('Repeat it: ');
  if (first !== second) throw new Error('The two passwords differ.');
  return first;
}

async function readFirstLine(): Promise<string> {
  let data = '';
  for await (const chunk of process.stdin) {
    data += String(chunk);
    if (data.includes('\n')) break;
  }
  return data.split(/\r?\n/)[0] ?? '';
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const finish = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chars: string): void => {
      for (const ch of chars) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new Error('Cancelled.'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
