/** Reading the files commands take: JSON, or YAML where a person writes them (plans, segments). */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './errors.js';

export async function readText(path: string): Promise<string> {
  try {
    return path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readText(path);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** JSON or YAML (by extension; `-` and unknown extensions try JSON, then YAML). */
export async function readDataFile(path: string): Promise<unknown> {
  const text = await readText(path);
  if (/\.ya?ml$/i.test(path)) return parseYamlText(path, text);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    if (/\.json$/i.test(path)) throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`);
    return parseYamlText(path, text);
  }
}

function parseYamlText(path: string, text: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    throw new UsageError(`${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** A JSON option's value, e.g. --context '{"userId":"u1"}'. */
export function parseJsonOption(name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`--${name} must be JSON, e.g. --${name} '{"userId":"u1"}' (got ${text})`);
  }
}
