/**
 * The browser dashboard served beside MCP by `serve --http`: the fleet live, the approvals inbox, each agent's transcript,
 * diff and controls, and costs over time. Server-rendered pages (views), one small script (assets/) fed by server-sent
 * events (feed), and actions through the same core functions as the tools and the CLI (server). Sits above fleet and forge.
 */
export { Dashboard, type DashboardOptions } from './server.js';
export { createLoginCode, dashboardDir, CODE_MS } from './auth.js';
export { highlightLine, languageOf } from './highlight.js';
export { parseDiff } from './diff.js';
