/** Registers the text commands (explain-text, text-vocab, text-encode, text-experiments) on the program. */
import type { Command } from 'commander';
import { registerExplainTextCommand } from './explain-text-cmd.js';
import { registerTextDataCommands } from './text-data-cmd.js';
import { registerTextExperimentsCommand } from './text-experiments-cmd.js';

export function registerTextCommands(program: Command): void {
  registerExplainTextCommand(program);
  registerTextDataCommands(program);
  registerTextExperimentsCommand(program);
}
