import type { Command } from 'commander';
import { type Run } from './program.js';

/** watch and notify: the live view of the fleet (filled in by src/cockpit). */
export function registerCockpitCommands(_program: Command, _run: Run): void {}
