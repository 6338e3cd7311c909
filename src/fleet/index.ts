/**
 * The fleet's lifecycle: spawning (with start-up), steering (send_prompt), listing, the monitor, and cleanup.
 */
export * from './spawn.js';
export * from './startup.js';
export * from './cleanup.js';
export * from './names.js';
export * from './launch-script.js';
export * from './agents.js';
export * from './prompt.js';
export * from './monitor.js';
export * from './lifecycle.js';
export * from './queue.js';
export * from './budget.js';
export * from './gc.js';
export * from './attempts.js';
export * from './compare.js';
