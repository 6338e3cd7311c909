/**
 * Telling a human when an agent needs one: which status changes matter (notices), how they travel (channels: notify-send, tmux, webhook, ntfy), and the rate-limited, never-blocking notifier driven by the monitor.
 */
export * from './notices.js';
export * from './channels.js';
export * from './notifier.js';
