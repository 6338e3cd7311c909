/**
 * Setting ringmaster up: registration with Claude Code, and the doctor's checks (the store's in store-check.ts).
 */
export * from './install.js';
export * from './doctor.js';
export * from './store-check.js';
