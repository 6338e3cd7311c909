/**
 * Setting ringmaster up: registration with Claude Code, and the doctor's checks.
 */
export * from './install.js';
export * from './doctor.js';
