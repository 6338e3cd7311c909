/**
 * The permission gate: the policy, the command classifier, pending requests, grants and the audit log, and the human-approval flow. Why was this denied? Start here.
 */
export * from './policy.js';
export * from './classify.js';
export * from './permissions.js';
export * from './approval.js';
export * from './network.js';
export * from './egress/index.js';
export * from './sandbox.js';
export * from './gate-helper.js';
