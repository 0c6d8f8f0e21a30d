// Types of source-stamp.mjs (plain JavaScript: bin/jit.js imports it before any loader exists).
/** The repository's src/ folder. */
export declare const SRC_DIR: string;
/** SHA-256 over the path and content of every file under `dir` (default src/). */
export declare function sourceStamp(dir?: string): string;
