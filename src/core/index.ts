/**
 * The shared ground under every concern: what the core is handed (Context), where things live (paths, per-agent files), progress reporting, and the public (snake_case) shape of results.
 */
export * from './context.js';
export * from './paths.js';
export * from './agent-files.js';
export * from './progress.js';
export * from './public-shape.js';
export * from './agent-command.js';
