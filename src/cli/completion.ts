import type { Command } from 'commander';
import { UserInputError } from '../errors.js';
import { withContext } from './context.js';
import { EXIT } from './output.js';
import { examples, type Run } from './program.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** `completion bash|zsh|fish`: scripts generated from the command tree itself, so they never drift from it. */
export function registerCompletion(program: Command, run: Run): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, options, agent names)')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      examples('ringmaster completion bash >> ~/.bashrc', 'ringmaster completion zsh > "${fpath[1]}/_ringmaster"', 'ringmaster completion fish > ~/.config/fish/completions/ringmaster.fish'),
    )
    .action((shell: string) =>
      run(async () => {
        if (!(SHELLS as readonly string[]).includes(shell)) throw new UserInputError(`completion: shell must be one of ${SHELLS.join(', ')}.`);
        process.stdout.write(completionScript(program, shell as (typeof SHELLS)[number]));
        return EXIT.ok;
      }),
    );
  // Agent names for the scripts above; hidden from help.
  program.command('_names', { hidden: true }).action(() =>
    run(() =>
      withContext(async (context) => {
        process.stdout.write(context.store.listAgents().map((record) => `${record.name}\n`).join(''));
        return EXIT.ok;
      }),
    ),
  );
}

interface Spec {
  name: string;
  aliases: string[];
  description: string;
  options: Array<{ flags: string[]; description: string; takesValue: boolean }>;
  takesAgentName: boolean;
}

function specs(program: Command): Spec[] {
  return program.commands
    .filter((command) => !command.name().startsWith('_'))
    .map((command) => ({
      name: command.name(),
      aliases: command.aliases(),
      description: command.description().replace(/\s+/g, ' '),
      options: [...command.options, { long: '--help', short: '-h', description: 'show help', required: false, optional: false }].map((option) => ({
        flags: [option.long, option.short].filter((flag): flag is string => Boolean(flag)),
        description: option.description,
        takesValue: option.required || option.optional,
      })),
      takesAgentName: command.registeredArguments.some((argument) => argument.name() === 'name' || argument.name() === 'names'),
    }));
}

export function completionScript(program: Command, shell: (typeof SHELLS)[number]): string {
  const commands = specs(program);
  const names = commands.flatMap((command) => [command.name, ...command.aliases]);
  if (shell === 'bash') {
    const cases = commands
      .map((command) => {
        const flags = command.options.flatMap((option) => option.flags).join(' ');
        const agents = command.takesAgentName ? ' $(ringmaster _names 2>/dev/null)' : '';
        return `    ${[command.name, ...command.aliases].join('|')}) words="${flags}${agents}" ;;`;
      })
      .join('\n');
    return `# ringmaster completion for bash: add to ~/.bashrc with  ringmaster completion bash >> ~/.bashrc
_ringmaster() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names.join(' ')} --help --version" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _ringmaster ringmaster
`;
  }
  if (shell === 'zsh') {
    const quote = (text: string) => text.replace(/'/g, "'\\''").replace(/:/g, '\\:').replace(/\[/g, '(').replace(/\]/g, ')');
    const list = commands.flatMap((command) => [command.name, ...command.aliases].map((name) => `'${name}:${quote(command.description)}'`)).join(' ');
    const cases = commands
      .map((command) => {
        const options = command.options.map((option) => `'${option.flags.length > 1 ? `(${option.flags.join(' ')})'{${option.flags.join(',')}}'` : option.flags[0]}[${quote(option.description)}]${option.takesValue ? ':value:' : ''}'`).join(' ');
        const agents = command.takesAgentName ? " '*:agent:_ringmaster_agents'" : " '*:file:_files'";
        return `    ${[command.name, ...command.aliases].join('|')}) _arguments ${options}${agents} ;;`;
      })
      .join('\n');
    return `#compdef ringmaster
# ringmaster completion for zsh: ringmaster completion zsh > "\${fpath[1]}/_ringmaster", then restart zsh
_ringmaster_agents() { local -a agents; agents=(\${(f)"$(ringmaster _names 2>/dev/null)"}); _describe agent agents; }
_ringmaster() {
  local -a commands
  commands=(${list})
  if (( CURRENT == 2 )); then _describe command commands; return; fi
  local subcommand=$words[2]
  shift words; (( CURRENT-- ))
  case $subcommand in
${cases}
  esac
}
_ringmaster "$@"
`;
  }
  const lines = [
    '# ringmaster completion for fish: ringmaster completion fish > ~/.config/fish/completions/ringmaster.fish',
    'complete -c ringmaster -f',
    ...commands.flatMap((command) => [command.name, ...command.aliases].map((name) => `complete -c ringmaster -n __fish_use_subcommand -a ${name} -d ${fishQuote(command.description)}`)),
    ...commands.flatMap((command) => {
      const when = `"__fish_seen_subcommand_from ${[command.name, ...command.aliases].join(' ')}"`;
      const options = command.options.map((option) => {
        const long = option.flags.find((flag) => flag.startsWith('--'))?.slice(2);
        const short = option.flags.find((flag) => /^-[^-]$/.test(flag))?.slice(1);
        return `complete -c ringmaster -n ${when}${long ? ` -l ${long}` : ''}${short ? ` -s ${short}` : ''}${option.takesValue ? ' -r' : ''} -d ${fishQuote(option.description)}`;
      });
      if (command.takesAgentName) options.push(`complete -c ringmaster -n ${when} -a "(ringmaster _names 2>/dev/null)"`);
      return options;
    }),
  ];
  return `${lines.join('\n')}\n`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
