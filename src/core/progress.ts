/** Told each step of a long operation (spawn, bootstrap) as it starts; MCP turns it into progress notifications. */
export type ProgressReporter = (message: string) => void;
