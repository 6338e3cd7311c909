#!/bin/bash
# PreToolUse gate for every ringmaster child. Usage: gate.sh <node> <gate.js> <worktree root>
# Fast path, without starting Node (~50 ms): a call whose tool name and input
# mention none of the gated programs or services, and use no shell expansion
# or encoding tricks, cannot be gated, so it is allowed at once. Everything
# else goes to gate.js. Claude Code lets a call through when a hook fails, so
# every failure here must print an explicit deny.
deny() {
  printf '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"%s"}}\n' "$1"
  exit 0
}
payload=$(cat) || deny "ringmaster gate could not read the hook input; denied (fail-closed)."
# Only the tool name and input matter; cwd and transcript paths would match "ringmaster" in every call.
call=${payload#*\"tool_name\":}
call=${call%\"tool_use_id\"*}
lower=${call,,}
# Paths inside the agents' worktrees are their own work: they must not send every file edit down the slow path.
worktrees=${3,,}
[[ -n "$worktrees" ]] && lower=${lower//"$worktrees"/}
home=${RINGMASTER_HOME,,}
# Quotes and backslashes vanish when the shell runs a word (a''ws, a\ws and a"w"s all run aws): look through them.
bare=${lower//[\'\"\\]/}
# In a shell command, expansions, globs and braces can build a name the words above do not show.
tricks=0
if [[ "$call" == '"Bash"'* ]]; then
  command=${call#*\"command\":}
  command=${command%%\",\"description\"*}
  [[ "$command" =~ [\$\`?*{[] ]] && tricks=1
fi
if [[ -n "$home" && $tricks == 0 && "$lower" != *"$home"* && ! "$bare" =~ (aws|sam[[:space:]]|cdk|eksctl|copilot|slack|push|merge|terraform|tofu|terragrunt|psql|pgcli|mysql|mariadb|mycli|mongo|redis|migrat|prisma|knex|alembic|sequelize|flyway|dbmate|liquibase|typeorm|drizzle|db:|database|_url|ringmaster|eval|base64|xxd|[[:space:]]-c[[:space:]]|[[:space:]]sh[[:space:]]|source|\.[[:space:]]) ]]; then
  exit 0
fi
printf '%s' "$payload" | "$1" "$2" && exit 0
deny "ringmaster gate failed to decide; the call is denied (fail-closed)."
