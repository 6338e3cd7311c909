import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files ringmaster keeps per agent in $RINGMASTER_HOME/agents/<id>/ that
 * several modules read: nothing of this is ever written into the repo.
 */

/** Where texts too long to type are put for the agent to read (passed to Claude with --add-dir). */
export function inboxDir(agentDirectory: string): string {
  return join(agentDirectory, 'inbox');
}

/** Written by launch.sh when the agent process ends. */
export function exitStatusFile(agentDirectory: string): string {
  return join(agentDirectory, 'exit-status');
}

export function readExitStatus(agentDirectory: string): number | null {
  try {
    const value = Number(readFileSync(exitStatusFile(agentDirectory), 'utf8').trim());
    return Number.isInteger(value) ? value : null;
  } catch {
    return null;
  }
}
