/** The network half of the gate: per-agent proxies, their long-lived process, and its client. */
export * from './proxy.js';
export * from './gate.js';
export * from './client.js';
export * from './paths.js';
