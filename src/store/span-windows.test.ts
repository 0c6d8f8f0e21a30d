// Every SpanWindows through the conformance suite, then what only the SQLite windows promise.
import { MemorySpanWindows } from './span-windows-memory.ts';
import { spanWindowsConformance } from './span-windows.conformance.ts';

spanWindowsConformance('memory', (opts) => new MemorySpanWindows(opts));
