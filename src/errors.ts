/**
 * The small set of errors ringmaster raises on purpose. Each message says what
 * went wrong *and* what to do next; MCP tools turn them into `isError` results
 * and the CLI into one line on stderr.
 */
export class RingmasterError extends Error {
  readonly code: string = 'RINGMASTER_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller asked for something malformed or impossible. */
export class UserInputError extends RingmasterError {
  override readonly code = 'INVALID_INPUT';
}

/** The named agent, repo or ref does not exist. */
export class NotFoundError extends RingmasterError {
  override readonly code = 'NOT_FOUND';
}

/** The request collides with existing state (name taken, branch exists, unsaved work). */
export class ConflictError extends RingmasterError {
  override readonly code = 'CONFLICT';
}

/** git, tmux or an agent CLI is missing or failed. */
export class ExternalToolError extends RingmasterError {
  override readonly code = 'EXTERNAL_TOOL';
}

/** One line for humans, without a stack trace. Unknown errors keep their message. */
export function describeError(error: unknown): string {
  if (error instanceof RingmasterError) return error.message;
  if (error instanceof Error) return `Internal error: ${error.message}`;
  return `Internal error: ${String(error)}`;
}
