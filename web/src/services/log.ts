/**
 * Namespaced debug logging for the browser, in the spirit of the `debug` package: nothing is written
 * unless localStorage 'debug' names the namespace. Patterns are separated by commas or spaces, `*` is
 * a wildcard and a leading `-` excludes, e.g. `dl:*,-dl:sip`. The setting is read when a logger is
 * created, so reload the page after changing it. Output goes to console.debug, which browsers list
 * under the "Verbose" level.
 */

export type Logger = (...args: unknown[]) => void;

const STORAGE_KEY = 'debug';

const silent: Logger = () => {};

function readPatterns(): string {
  try {
    // Through window: Node (the unit tests) has a localStorage getter too, which warns when touched.
    return globalThis.window?.localStorage?.getItem(STORAGE_KEY) ?? '';
  } catch {
    // Storage can be blocked by privacy settings; logging must never break the app.
    return '';
  }
}

function toRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/** Whether `namespace` is switched on by `patterns` (the value of localStorage 'debug'). */
export function isLogEnabled(namespace: string, patterns: string): boolean {
  let enabled = false;
  for (const token of patterns.split(/[\s,]+/)) {
    if (token === '' || token === '-') continue;
    const excluded = token.startsWith('-');
    if (!toRegExp(excluded ? token.slice(1) : token).test(namespace)) continue;
    if (excluded) return false;
    enabled = true;
  }
  return enabled;
}

/** Returns a logger for `namespace` (e.g. `log('dl:app')`) that is silent unless debugging is on for it. */
export function log(namespace: string): Logger {
  if (!isLogEnabled(namespace, readPatterns())) return silent;
  const prefix = `[${namespace}]`;
  return (...args) => console.debug(prefix, ...args);
}
