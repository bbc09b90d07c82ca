import type { Static, TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface EnvConfigOptions {
  /** Variables given as one comma-separated string that the schema holds as a list. */
  lists?: readonly string[];
  /** Where to read more, for variables without a description. */
  hint: string;
}

/** Validates the environment into the schema's type, or throws a ConfigError naming each bad variable. */
export function loadEnvConfig<T extends TObject>(
  schema: T,
  env: NodeJS.ProcessEnv,
  options: EnvConfigOptions,
): Static<T> {
  const lists = new Set(options.lists ?? []);
  const raw: Record<string, string> = {};
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value === undefined || value.trim() === '') continue;
    raw[key] = value;
    input[key] = lists.has(key) ? value.split(',').map((item) => item.trim()) : value;
  }
  const describe = (name: string): string =>
    (schema.properties as Record<string, { description?: string }>)[name]?.description ?? options.hint;

  // Default and Convert work in place on `input`; `raw` keeps the text as given, for the messages.
  const converted = Value.Convert(schema, Value.Default(schema, input));
  const problems = [...Value.Errors(schema, converted)].map((error) => {
    const name = error.path.split('/')[1] || 'configuration';
    const given = raw[name];
    if (given === undefined && (schema.required ?? []).includes(name)) return `${name} is required (${describe(name)})`;
    const choices = (error.schema as { anyOf?: Array<{ const?: unknown }> }).anyOf?.map((option) => option.const);
    const reason = choices
      ? `expected one of ${choices.join(', ')}`
      : `${error.message.toLowerCase()} (${describe(name)})`;
    return `${name}=${JSON.stringify(given)} is invalid: ${reason}`;
  });
  if (problems.length > 0) {
    // One line per variable, even when the schema reports several problems for it.
    throw new ConfigError(`Invalid configuration:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
  return converted as Static<T>;
}
