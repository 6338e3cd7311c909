/**
 * Live state of every agent: hook events, status derivation, liveness probes, transcripts (usage and cost), git summaries, and waiting for a change.
 */
export * from './events.js';
export * from './status.js';
export * from './liveness.js';
export * from './state.js';
export * from './transcripts.js';
export * from './git-summary.js';
export * from './wait.js';
export * from './watch.js';
export * from './overlap.js';
