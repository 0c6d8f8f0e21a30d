// Reads the endpoint list: one name per line; blank lines and `#` comments ignored.
import { readFile } from 'node:fs/promises';
import { endpointNameProblem } from '../core/endpoint-name.ts';

export interface EndpointList {
  names: string[];
  /** Lines that were not valid names, with the reason (logged by the caller). */
  rejected: { line: number; text: string; reason: string }[];
}

export function parseEndpointList(text: string): EndpointList {
  const names: string[] = [];
  const seen = new Set<string>();
  const rejected: EndpointList['rejected'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const problem = endpointNameProblem(line);
    if (problem) rejected.push({ line: i + 1, text: line.slice(0, 80), reason: problem });
    else if (!seen.has(line)) {
      seen.add(line);
      names.push(line);
    }
  });
  return { names, rejected };
}

/** Reads and parses the file; rejects with the fs error when it cannot be read. */
export async function readEndpointList(path: string): Promise<EndpointList> {
  return parseEndpointList(await readFile(path, 'utf8'));
}
