/**
 * The human's live view of the fleet: what it shows (fleet-view), how it is drawn (render, pure), and the terminal loop with its keys (watch).
 */
export * from './fleet-view.js';
export * from './render.js';
export * from './watch.js';
