// Validation of endpoint names: what may be asked about, stored and put into a source query.
import { InvalidEndpointNameError } from './errors.ts';

/** Longest accepted endpoint name, in characters. */
export const MAX_ENDPOINT_NAME_LENGTH = 512;

/** Returns a reason the name is unacceptable, or undefined when it is fine. */
export function endpointNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty';
  if (name.length > MAX_ENDPOINT_NAME_LENGTH)
    return `longer than ${MAX_ENDPOINT_NAME_LENGTH} characters`;
  // Control characters cannot appear in a URL tag and would break logs and line-based files.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains control characters';
  if (name.trim() !== name) return 'has leading or trailing white space';
  return undefined;
}

export function assertEndpointName(name: string): string {
  const problem = endpointNameProblem(name);
  if (problem) throw new InvalidEndpointNameError(problem);
  return name;
}
