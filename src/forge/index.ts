/**
 * Where code leaves the machine: GitHub pull requests, review routing, and Linear tickets.
 */
export * from './prs.js';
export * from './review.js';
export * from './linear.js';
export * from './land.js';
export * from './pick.js';
