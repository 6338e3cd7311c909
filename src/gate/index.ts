/**
 * The permission gate: the policy, the command classifier, pending requests, grants and the audit log, and the human-approval flow. Why was this denied? Start here.
 */
export * from './policy.js';
// The classifier (and its shell parser, unbash) runs only in the gate hook, which imports classify.js itself:
// a server or CLI process never loads it.
export type { ClassifyContext, Finding, FindingCategory } from './classify.js';
export * from './permissions.js';
export * from './approval.js';
export * from './network.js';
export * from './egress/index.js';
export * from './sandbox.js';
export * from './gate-helper.js';
