#!/bin/bash
# PreToolUse gate for every ringmaster child. Usage: gate.sh <node> <gate.js> <worktree root> [<spool>]
#
# With a spool folder it first records the payload there for ringmaster's
# status, as record-event.sh does for the other events: one hook process per
# tool call before it runs, not two. Recording never blocks the call.
#
# Fast path, in bash alone (starting Node costs 50-140 ms a call). A call is
# allowed here only when the full classifier (src/gate/classify.ts, run by
# gate.js) is certain to allow it too:
#   - Read, Glob, Grep, LS, TodoWrite: the classifier never gates them.
#   - Write, Edit, MultiEdit, NotebookEdit: a plain absolute path outside
#     ringmaster's own folder (the agents' worktrees are their own work).
#   - Bash: every command word is a known-safe program (ls, cat, grep, git with
#     a local subcommand, npm test, make, tsc, …), read through quotes, lists,
#     pipes, loops, if, subshells and here-docs; arguments may use $VARS, globs
#     and braces; nothing is computed into a command name, nothing is fed to a
#     shell or an interpreter, and no path points into ringmaster's folder.
# Anything else, and anything this script does not fully understand, goes to
# gate.js (test/integration/gate-fast-path.test.ts checks the two agree on
# every command of the corpora). Claude Code lets a call through when a hook
# fails, so every failure here prints an explicit deny; the fast path says
# "allow" only by exiting 0 silently after every check passed.
#
# src/hooks/gate-fast.c is this script ported step for step to C (a bash start
# alone costs about as much as a hook may): change the two together;
# gate-fast-path.test.ts checks they decide alike.
#
# Every variable of this script starts with G_: `${!NAME}` below reads the
# child's environment, which gate.js sees too, and must not see ours.
[[ -n "${!G_*}" ]] && G_collide=1
LC_ALL=C
G_node=$1
G_gate_js=$2

deny() {
  printf '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"%s"}}\n' "$1"
  exit 0
}
full_check() {
  printf '%s' "$G_payload" | "$G_node" "$G_gate_js" ${G_notices:+--notices "$G_notices"} && exit 0
  deny "ringmaster gate failed to decide; the call is denied (fail-closed)."
}

# The read builtin costs no process start, but reads a pipe a byte at a time: past 2 kB, cat reads the rest.
IFS= read -r -d '' -n 2048 G_payload
if [[ ${#G_payload} == 2048 ]]; then
  G_more=$(cat) || deny "ringmaster gate could not read the hook input; denied (fail-closed)."
  G_payload+=$G_more
fi
if [[ -n "$4" ]]; then
  { printf '%s' "$G_payload" > "$4/${EPOCHREALTIME/./}-$$.json"; } 2>/dev/null
  # The egress gate refused something since the last call: gate.js tells the agent why, beside its decision.
  if [[ -s "${4%/*}/egress-notices" ]]; then
    G_notices="${4%/*}/egress-notices"
    full_check
  fi
fi
[[ -n "$G_collide" ]] && full_check

# ---- where ringmaster's own state lives (as gate.js reads it: RINGMASTER_HOME, RINGMASTER_WORKTREE_ROOT or <home>/worktrees)
G_home=$RINGMASTER_HOME
while [[ "$G_home" == */ && "$G_home" != / ]]; do G_home=${G_home%/}; done
G_wt=${RINGMASTER_WORKTREE_ROOT:-$G_home/worktrees}
while [[ "$G_wt" == */ && "$G_wt" != / ]]; do G_wt=${G_wt%/}; done
normal_abs() { [[ "$1" == /* && "$1" != *//* && "$1" != */./* && "$1" != */../* && "$1" != */. && "$1" != */.. ]]; }
normal_abs "$G_home" && normal_abs "$G_wt" && [[ "$G_home" != / ]] || full_check
[[ "$G_payload" == *[$'\x01\x02']* ]] && full_check
G_home_lc=${G_home,,}
G_wt_lc=${G_wt,,}
# An absolute, normalized path inside ringmaster's state (home, not the worktrees)? Without case: stricter than gate.js.
is_state() {
  G_p=${1,,}
  [[ "$G_p" == "$G_home_lc" || "$G_p" == "$G_home_lc"/* ]] && [[ "$G_p" != "$G_wt_lc" && "$G_p" != "$G_wt_lc"/* ]]
}
# A folder from which a relative path without `..` cannot reach ringmaster's state.
safe_dir() {
  G_p=${1,,}
  normal_abs "$1" || return 1
  [[ "$G_p" == "$G_wt_lc"/* || "$G_p" == "$G_wt_lc" ]] && return 0
  [[ "$G_p" == / || "$G_p" == "$G_home_lc" || "$G_p" == "$G_home_lc"/* || "$G_home_lc" == "$G_p"/* ]] && return 1
  return 0
}

# ---- the payload's top-level fields (each key must occur exactly once)
once() { G_r=${G_payload#*"$1"}; [[ "$G_r" != "$G_payload" && "$G_r" != *"$1"* ]]; }
json_string() { # $1 key → G_value, a JSON string without escapes
  once "\"$1\":\"" || return 1
  G_value=${G_payload#*\"$1\":\"}
  G_value=${G_value%%\"*}
  [[ "$G_value" != *\\* ]]
}
once '"tool_name":"' || full_check
G_tool=${G_payload#*\"tool_name\":\"}
G_tool=${G_tool%%\"*}

# Programs and tools the policy adds to a gated category (policy.json "commands") are never fast.
G_extra=' '
if [[ -f "$G_home/policy.json" ]]; then
  IFS= read -r -d '' G_policy < "$G_home/policy.json"
  G_rest=$G_policy
  while [[ "$G_rest" =~ \"commands\"[[:space:]]*:[[:space:]]*\[([^]]*)\](.*) ]]; do
    G_list=${BASH_REMATCH[1]}
    G_rest=${BASH_REMATCH[2]}
    while [[ "$G_list" =~ \"([^\"]*)\"(.*) ]]; do
      G_extra+="${BASH_REMATCH[1]} "
      G_list=${BASH_REMATCH[2]}
    done
  done
fi
[[ "$G_extra" == *" $G_tool "* ]] && full_check

case "$G_tool" in
  Read | Glob | Grep | LS | TodoWrite)
    exit 0
    ;;
  Write | Edit | MultiEdit | NotebookEdit)
    G_seen=0
    for G_key in file_path notebook_path path; do
      [[ "$G_payload" == *"\"$G_key\":"* ]] || continue
      json_string "$G_key" || full_check
      normal_abs "$G_value" || full_check
      is_state "$G_value" && full_check
      G_seen=1
    done
    [[ $G_seen == 1 ]] && exit 0
    full_check
    ;;
  Bash) ;;
  *) full_check ;;
esac

# ---- Bash: the command string, decoded from JSON
once '"command":"' || full_check
G_raw=${G_payload#*\"command\":\"}
G_raw=${G_raw//\\\\/$'\x01'}
G_raw=${G_raw//\\\"/$'\x02'}
[[ "$G_raw" == *\"* ]] || full_check
G_raw=${G_raw%%\"*}
G_raw=${G_raw//\\n/$'\n'}
G_raw=${G_raw//\\t/$'\t'}
G_raw=${G_raw//\\\//\/}
[[ "$G_raw" == *\\* ]] && full_check # \u…, \r, \b, \f: rare, left to gate.js
G_raw=${G_raw//$'\x02'/\"}
G_cmd=${G_raw//$'\x01'/\\}

json_string cwd || full_check
safe_dir "$G_value" || full_check

# AWS credentials set anywhere in the call, and command or process substitution of any kind.
[[ "$G_cmd" =~ AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|WEB_IDENTITY_TOKEN_FILE) ]] && full_check
G_slack=0
[[ "${G_cmd,,}" == *slack* ]] && G_slack=1
# A variable whose value (this environment is the one gate.js classifies with) mentions Slack.
G_rest=$G_cmd
while [[ "$G_rest" =~ \$\{?([A-Za-z_][A-Za-z0-9_]*)(.*) ]]; do
  G_name=${BASH_REMATCH[1]}
  G_rest=${BASH_REMATCH[2]}
  G_v=${!G_name}
  [[ "${G_v,,}" == *slack* ]] && G_slack=1
done
# The variables of a word that may be a path (an argument of a program that writes, a redirect target):
# their values must not point into ringmaster's folder, nor climb out of a safe one.
check_vars() {
  G_vr=$1
  while [[ "$G_vr" =~ \$\{?([A-Za-z_][A-Za-z0-9_]*)(.*) ]]; do
    G_vr=${BASH_REMATCH[2]}
    G_vn=${BASH_REMATCH[1]}
    G_vv=${!G_vn}
    [[ -z "$G_vv" ]] && continue
    [[ "$G_vv" == *..* || "$G_vv" == *'~'* ]] && full_check
    G_vl=${G_vv,,}
    [[ "$G_vv" == /* ]] && [[ "$G_vl" == *"$G_home_lc"* || "$G_home_lc" == "${G_vl%/}"/* ]] && full_check
  done
  return 0
}

# ---- the scanner: words and operators, with quotes, here-docs and keywords
# Programs whose classification depends on nothing but the checks in this file (some with rules in arg_word).
G_SAFE=' ls cat head tail less more wc grep egrep fgrep rg ag ack sed sort uniq cut tr diff cmp comm tee column nl fold paste join seq tac rev od hexdump strings file stat du df tree pwd echo printf true false test [ : basename dirname realpath readlink date whoami id uname hostname which type hash sleep xxd base64 md5sum sha1sum sha256sum jq yq touch mkdir rmdir cp mv rm ln chmod unset set exit return wait shift patch gzip gunzip zcat make cmake ninja tsc vitest jest mocha eslint prettier biome cargo rustc rustfmt go gofmt gcc g++ cc clang javac mvn gradle gradlew pytest ruff black mypy flake8 isort pylint tox pip pip3 curl wget git gh npm yarn pnpm bun npx python python3 node cd export command xargs timeout nice env find read '
# Programs that cannot send anything (all in classify.ts's NO_NETWORK): a Slack URL among their words is text.
G_QUIET=' find ls cat head tail less more wc grep egrep fgrep rg ag ack sed sort uniq cut tr diff cmp comm tee column nl basename dirname realpath readlink echo printf test [ true false : pwd which type hash xxd base64 md5sum sha256sum touch mkdir cp mv rm ln git cd export unset '
# classify.ts's READ_ONLY: their arguments are never checked as paths.
G_READ_ONLY=' cat ls head tail less more grep rg find stat wc file jq du realpath readlink echo printf test [ '
G_GIT_SAFE=' status diff log show add commit branch checkout switch restore stash fetch pull rebase merge cherry-pick revert reset rm mv tag rev-parse rev-list ls-files ls-tree cat-file blame grep describe shortlog reflog remote worktree init clone diff-tree merge-base name-rev for-each-ref symbolic-ref format-patch apply clean notes show-ref range-diff cherry count-objects version help '
G_PKG_SAFE=' install i add remove rm uninstall test t run build lint ci typecheck format list ls why outdated audit init version pack info view '
G_re_plain='^([^][:space:]|&;()<>"'"'"'\\$`*?{}[]+)(.*)'
G_re_dq='^"(([^"\\]|\\.)*)"(.*)'
G_re_ansi="^\\\$'(([^'\\\\]|\\\\.)*)'(.*)"
G_re_var='^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[0-9@*#?$!-])(.*)'
G_re_redirect='^([0-9]*)(<<<|<<-|<<|>>|>&|<&|>\||<>|&>>|&>|>|<)(.*)'

G_s=$G_cmd
G_stack=''       # open constructs, innermost last (see keyword)
G_expect=cmd     # cmd: the next word is in command position; arg: an argument; data: a for list; target: a redirect target
G_prog=''        # the current simple command's program
G_pword=0        # words after the program
G_empty=1        # nothing in the current segment yet
G_body_empty=0   # a construct's body (or condition) has no command yet
G_closed=0       # just closed a compound: only operators and redirects may follow
G_heredocs=()    # pending here-doc delimiters: q:EOF quoted, u:EOF unquoted, t:EOF with <<-
G_stripped=''    # the command without here-doc bodies and comments
G_quiet_only=1   # every program is in G_QUIET
G_compound=0     # a compound command or subshell appears
G_assigned=0     # the call assigns a variable
G_pending_op=0   # a | && || waits for its command
G_wrap=''        # a wrapper whose options are being read (npx, xargs, timeout, nice, env)
G_wrap_value=0   # the wrapper option just read takes a value
G_wrap_duration=0
G_git_sub=''
G_git_c=0
G_python_m=0
G_bang=0         # a ! waits for its command
G_data=0         # words read of a for list
G_opaque=0       # the word has $'…' or an escape, so its text is not plainly its value
G_word_dollar=0
G_word_glob=0

seg_end() { # at an operator; $1 is nl for a newline
  [[ $G_empty == 1 && $1 != nl || $G_bang == 1 ]] && full_check
  [[ $G_expect == target || -n "$G_wrap" ]] && full_check
  [[ $G_expect == data && $1 != nl && $1 != semi ]] && full_check
  prog_end
  G_expect=cmd
  G_empty=1
  G_closed=0
}
prog_end() {
  case "$G_prog" in
    git) [[ -n "$G_git_sub" ]] || full_check ;;
    node | python | python3 | bun) [[ $G_pword -gt 0 ]] || full_check ;;
    cd) [[ $G_pword == 1 ]] || full_check ;;
  esac
  G_prog=''
  G_pword=0
  G_git_sub=''
}
# A word in command position at the start of a segment: returns 0 if it was a keyword.
# The stack: i (if condition), t (then body), e (else body), w (while/until condition), f (for list), d (do body), b ({), p (subshell).
keyword() {
  G_top=${G_stack: -1}
  case "$1" in
    if) G_stack+=i ;;
    while | until) G_stack+=w ;;
    then) [[ $G_top == i ]] || full_check; G_stack=${G_stack%i}t ;;
    elif) [[ $G_top == t ]] || full_check; G_stack=${G_stack%t}i ;;
    else) [[ $G_top == t ]] || full_check; G_stack=${G_stack%t}e ;;
    fi) [[ $G_top == t || $G_top == e ]] || full_check; G_stack=${G_stack%?} ;;
    for) G_stack+=f; G_expect=data; G_data=0; G_empty=0; G_compound=1; G_body_empty=0; return 0 ;;
    do) [[ $G_top == w || $G_top == f ]] || full_check; G_stack=${G_stack%?}d ;;
    done) [[ $G_top == d ]] || full_check; G_stack=${G_stack%d} ;;
    '{') G_stack+=b ;;
    '}') [[ $G_top == b ]] || full_check; G_stack=${G_stack%b} ;;
    '!') G_compound=1; G_bang=1; return 0 ;;
    case | esac | select | function | coproc | time | '[[' | ']]' | in) full_check ;;
    *) return 1 ;;
  esac
  G_compound=1
  # a keyword that ends a body or condition needs a command in it, and none may follow a dangling | && ||
  case "$1" in
    then | elif | else | fi | do | done | '}') [[ $G_body_empty == 0 && $G_was_pending == 0 ]] || full_check ;;
  esac
  case "$1" in
    fi | done | '}') G_closed=1; G_empty=0; G_body_empty=0 ;;
    *) G_body_empty=1 ;;
  esac
  return 0
}
# A word in command position that is not a keyword: an assignment or the program.
command_word() { # $1 the word as written, $2 its value
  if [[ -z "$G_wrap" && "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*\+?= ]]; then
    # a value with a path or a variable could be made to point anywhere: full check
    [[ "${2#*=}" == */* || "${2#*=}" == *'$'* || "${2#*=}" == *'~'* || $G_opaque == 1 || $G_word_glob == 1 ]] && full_check
    G_assigned=1
    G_empty=0
    G_body_empty=0
    return
  fi
  [[ "$1" =~ ^[A-Za-z0-9_./+-][A-Za-z0-9_./+:@-]*$ && $G_opaque == 0 ]] || full_check
  G_b=${1##*/}
  [[ "$G_SAFE" == *" $G_b "* && "$G_extra" != *" $G_b "* ]] || full_check
  [[ "$G_QUIET" == *" $G_b "* ]] || G_quiet_only=0
  G_empty=0
  G_body_empty=0
  G_expect=arg
  G_prog=$G_b
  G_pword=0
  G_git_c=0
  G_python_m=0
  case "$G_b" in
    npx | xargs | nice | env) G_wrap=$G_b ;;
    timeout) G_wrap=timeout; G_wrap_duration=1 ;;
  esac
}
# A wrapper's options, read exactly as classify.ts's unwrap reads them, then the program it runs.
wrapper_word() { # $1 as written, $2 value
  if [[ $G_wrap_value == 1 ]]; then G_wrap_value=0; return; fi
  [[ $G_opaque == 1 || $G_word_dollar == 1 ]] && full_check
  if [[ "$2" == -* && "$2" != - && "$2" != -- ]]; then
    [[ $G_word_glob == 1 && $G_wrap != xargs ]] && full_check
    case "$G_wrap:$2" in
      npx:-y | npx:--yes | npx:--no | npx:-q | npx:--quiet | npx:--prefer-offline | npx:--no-install) ;;
      xargs:-I | xargs:-n | xargs:-P | xargs:-d | xargs:-E | xargs:-L | xargs:-s | xargs:-a | xargs:--max-args | xargs:--max-procs | xargs:--delimiter | xargs:--arg-file) G_wrap_value=1 ;;
      xargs:-0 | xargs:-r | xargs:-t | xargs:--null | xargs:--no-run-if-empty | xargs:--verbose | xargs:-n[0-9]* | xargs:-P[0-9]* | xargs:-L[0-9]* | xargs:-I?*) ;;
      timeout:-s | timeout:-k | timeout:--signal | timeout:--kill-after) G_wrap_value=1 ;;
      timeout:--preserve-status | timeout:--foreground | timeout:-v | timeout:--verbose) ;;
      nice:-n | nice:--adjustment) G_wrap_value=1 ;;
      nice:-n[0-9]* | nice:-[0-9]*) ;;
      *) full_check ;;
    esac
    return
  fi
  [[ $G_word_glob == 1 ]] && full_check
  if [[ "$2" == -- ]]; then
    [[ $G_wrap == npx || $G_wrap == xargs || $G_wrap == nice ]] || full_check
    return
  fi
  if [[ $G_wrap_duration == 1 ]]; then G_wrap_duration=0; return; fi
  if [[ $G_wrap == env && "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
    [[ "${2#*=}" == */* || "${2#*=}" == *'~'* ]] && full_check
    G_assigned=1
    return
  fi
  G_wrap=''
  command_word "$1" "$2"
}
# A word after the program: most programs do not care; a few are checked.
arg_word() { # $1 as written, $2 value
  if [[ -n "$G_wrap" ]]; then wrapper_word "$1" "$2"; return; fi
  G_pword=$((G_pword + 1))
  [[ $G_word_dollar == 1 && "$G_READ_ONLY" != *" $G_prog "* ]] && check_vars "$1"
  case "$G_prog" in
    git)
      [[ $G_opaque == 1 ]] && full_check
      if [[ -z "$G_git_sub" ]]; then
        [[ $G_word_dollar == 1 || $G_word_glob == 1 ]] && full_check
        if [[ $G_git_c == 1 ]]; then G_git_c=0; return; fi
        case "$2" in
          -C) G_git_c=1; return ;;
          -p | --paginate | -P | --no-pager | --no-replace-objects | --literal-pathspecs | --no-optional-locks) return ;;
          -*) full_check ;;
        esac
        [[ "$G_GIT_SAFE" == *" $2 "* ]] || full_check
        G_git_sub=$2
        return
      fi
      [[ "$G_git_sub" == rebase && ( "$2" == -*x* || "$2" == --exec* ) && "$2" != --* || "$2" == --exec* ]] && full_check
      ;;
    gh)
      [[ $G_opaque == 1 || ( $G_pword -le 2 && ( $G_word_dollar == 1 || $G_word_glob == 1 ) ) ]] && full_check
      [[ "$2" == merge ]] && full_check
      ;;
    npm | yarn | pnpm | bun)
      if [[ $G_pword == 1 ]]; then
        [[ $G_opaque == 1 || $G_word_dollar == 1 || $G_word_glob == 1 ]] && full_check
        [[ "$2" == exec || "$2" == x || "$2" == dlx || "$2" == -* ]] && full_check
        [[ "$G_prog" == npm || "$G_PKG_SAFE" == *" $2 "* ]] || full_check
      fi
      ;;
    python | python3)
      if [[ $G_pword == 1 ]]; then
        [[ "$1" == -m ]] && { G_python_m=1; return; }
        [[ "$1" =~ ^[A-Za-z0-9_./-]+$ && "$1" != -* ]] || full_check
      elif [[ $G_pword == 2 && $G_python_m == 1 ]]; then
        [[ "$1" =~ ^[A-Za-z0-9_.]+$ && "$1" != awscli* ]] || full_check
      fi
      ;;
    node)
      [[ $G_pword == 1 ]] && ! [[ "$1" =~ ^[A-Za-z0-9_./-]+$ && "$1" != -* ]] && full_check
      ;;
    cd)
      [[ $G_pword -gt 1 || $G_opaque == 1 || $G_word_dollar == 1 || $G_word_glob == 1 || "$2" == -* || "$2" == *'~'* ]] && full_check
      [[ "$2" == /* ]] && ! safe_dir "$2" && full_check
      ;;
    export)
      [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*(=|$) && $G_opaque == 0 && $G_word_glob == 0 ]] || full_check
      [[ "${2#*=}" == */* || "${2#*=}" == *'$'* || "${2#*=}" == *'~'* ]] && full_check
      G_assigned=1
      ;;
    command)
      [[ $G_pword -gt 1 || "$2" == -v || "$2" == -V ]] || full_check
      ;;
    hash)
      # hash -p makes a name run another program
      [[ $G_opaque == 1 || "$2" == -*p* ]] && full_check
      ;;
    find)
      # -exec, -execdir, -ok and -okdir run a command: full check
      [[ $G_opaque == 1 || "$2" == -exec* || "$2" == -ok* ]] && full_check
      ;;
  esac
  return 0
}

while :; do
  # blanks and line continuations
  while [[ "$G_s" == [$' \t']* || "$G_s" == $'\\\n'* ]]; do
    if [[ "$G_s" == $'\\\n'* ]]; then G_s=${G_s:2}; else G_s=${G_s:1}; fi
    G_stripped+=' '
  done
  [[ -z "$G_s" ]] && break
  G_c=${G_s:0:1}
  case "$G_c" in
    $'\n')
      G_s=${G_s:1}
      G_stripped+=$'\n'
      seg_end nl
      # here-doc bodies start after the newline that ends their command line
      for G_hd in "${G_heredocs[@]}"; do
        G_delim=${G_hd:3}
        while :; do
          [[ -z "$G_s" ]] && full_check
          if [[ "$G_s" == *$'\n'* ]]; then G_line=${G_s%%$'\n'*}; G_s=${G_s#*$'\n'}; else G_line=$G_s; G_s=''; fi
          if [[ ${G_hd:0:1} == t ]]; then while [[ "$G_line" == $'\t'* ]]; do G_line=${G_line:1}; done; fi
          [[ "$G_line" == "$G_delim" ]] && break
          # an unquoted body is expanded: command substitution in it runs
          [[ ${G_hd:1:1} == u && ( "$G_line" == *'$('* || "$G_line" == *'`'* || "$G_line" == *'${'* ) ]] && full_check
        done
        G_stripped+=$'\n'
      done
      G_heredocs=()
      continue
      ;;
    '#')
      if [[ "$G_s" == *$'\n'* ]]; then G_s=$'\n'${G_s#*$'\n'}; else G_s=''; fi
      continue
      ;;
    ';' | '&' | '|')
      case "$G_s" in
        ';;'* | ';&'* | '|&'*) full_check ;;
        '&>'*) ;;
        '&&'* | '||'*) G_op=${G_s:0:2} ;;
        *) G_op=$G_c ;;
      esac
      if [[ "$G_s" != '&>'* ]]; then
        G_s=${G_s:${#G_op}}
        G_stripped+=" $G_op "
        case "$G_op" in
          ';') seg_end semi; G_pending_op=0 ;;
          '&') seg_end amp; G_pending_op=0 ;;
          *) seg_end op; G_pending_op=1 ;;
        esac
        continue
      fi
      ;;
    '(')
      [[ $G_expect == cmd && $G_empty == 1 && "$G_s" != '(('* ]] || full_check
      G_s=${G_s:1}
      G_stripped+='( '
      G_stack+=p
      G_compound=1
      G_body_empty=1
      G_pending_op=0
      continue
      ;;
    ')')
      [[ "${G_stack: -1}" == p && $G_body_empty == 0 && $G_expect != data && $G_pending_op == 0 ]] || full_check
      [[ $G_empty == 1 ]] && G_empty=0 # `(ls;)`: the `;` already ended the command
      seg_end op
      G_stack=${G_stack%p}
      G_s=${G_s:1}
      G_stripped+=' )'
      G_closed=1
      G_empty=0
      continue
      ;;
  esac
  if [[ "$G_c" == [\<\>\&0-9] && "$G_s" =~ $G_re_redirect ]]; then
    G_r=${BASH_REMATCH[2]}
    G_s=${BASH_REMATCH[3]}
    G_stripped+=" $G_r "
    [[ $G_expect == data || $G_expect == target ]] && full_check
    if [[ "$G_r" == '<<' || "$G_r" == '<<-' ]]; then
      while [[ "$G_s" == [$' \t']* ]]; do G_s=${G_s:1}; done
      if [[ "$G_s" =~ ^\'([A-Za-z0-9_.-]+)\'(.*) || "$G_s" =~ ^\"([A-Za-z0-9_.-]+)\"(.*) || "$G_s" =~ ^\\([A-Za-z0-9_.-]+)(.*) ]]; then G_hd="q:${BASH_REMATCH[1]}"
      elif [[ "$G_s" =~ ^([A-Za-z0-9_.-]+)(.*) ]]; then G_hd="u:${BASH_REMATCH[1]}"
      else full_check
      fi
      G_s=${BASH_REMATCH[2]}
      [[ "$G_r" == '<<-' ]] && G_hd="t$G_hd" || G_hd="n$G_hd"
      G_heredocs+=("$G_hd")
      G_empty=0
      continue
    fi
    G_saved_expect=$G_expect
    G_expect=target
    G_empty=0
    continue
  fi
  # A word: plain runs, quotes, escapes and simple $-expansions, up to a blank or an operator.
  G_w=''
  G_v=''
  G_opaque=0
  G_word_dollar=0
  G_word_glob=0
  while [[ -n "$G_s" ]]; do
    if [[ "$G_s" =~ $G_re_plain ]]; then
      G_w+=${BASH_REMATCH[1]}
      G_v+=${BASH_REMATCH[1]}
      G_s=${BASH_REMATCH[2]}
    elif [[ "$G_s" == \'* ]]; then
      G_rest=${G_s:1}
      [[ "$G_rest" == *\'* ]] || full_check
      G_part=${G_rest%%\'*}
      G_w+="'$G_part'"
      G_v+=$G_part
      G_s=${G_rest#*\'}
    elif [[ "$G_s" =~ $G_re_dq ]]; then
      G_part=${BASH_REMATCH[1]}
      G_s=${BASH_REMATCH[3]}
      [[ "$G_part" == *'$('* || "$G_part" == *'`'* ]] && full_check
      [[ "$G_part" == *'$'* ]] && G_word_dollar=1
      [[ "$G_part" == *\\* ]] && G_opaque=1
      G_w+="\"$G_part\""
      G_v+=$G_part
    elif [[ "$G_s" == \"* ]]; then
      full_check
    elif [[ "$G_s" == \$\'* ]]; then
      [[ "$G_s" =~ $G_re_ansi ]] || full_check
      G_w+="\$'${BASH_REMATCH[1]}'"
      G_v+=${BASH_REMATCH[1]}
      G_s=${BASH_REMATCH[3]}
      G_opaque=1
    elif [[ "$G_s" == \\* ]]; then
      [[ ${#G_s} -ge 2 ]] || full_check
      G_w+=${G_s:0:2}
      G_v+=${G_s:1:1}
      G_s=${G_s:2}
      G_opaque=1
    elif [[ "$G_s" == \$* ]]; then
      [[ "$G_s" =~ $G_re_var ]] || full_check # ${x:-…}, $((…)), $"…" and the like
      G_w+=${BASH_REMATCH[1]}
      G_v+=${BASH_REMATCH[1]}
      G_s=${BASH_REMATCH[2]}
      G_word_dollar=1
    elif [[ "$G_s" == []*?{}[]* ]]; then
      G_w+=${G_s:0:1}
      G_v+=${G_s:0:1}
      G_s=${G_s:1}
      G_word_glob=1
    else
      break
    fi
  done
  [[ -z "$G_w" ]] && full_check
  G_stripped+="$G_w"
  G_was_pending=$G_pending_op
  G_pending_op=0
  [[ $G_expect == cmd && "$G_w" != '!' ]] && G_bang=0
  [[ $G_closed == 1 && $G_expect != target ]] && full_check
  case "$G_expect" in
    target) [[ $G_word_dollar == 1 ]] && check_vars "$G_w"; G_expect=$G_saved_expect ;;
    data)
      G_data=$((G_data + 1))
      [[ $G_data == 1 ]] && ! [[ "$G_w" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && full_check
      [[ $G_data == 2 && "$G_w" != in ]] && full_check
      ;;
    arg) arg_word "$G_w" "$G_v" ;;
    cmd)
      if [[ $G_empty == 1 && $G_opaque == 0 && $G_word_dollar == 0 && ( $G_word_glob == 0 || "$G_w" == '{' || "$G_w" == '}' ) ]] && keyword "$G_w"; then
        :
      elif [[ "$G_w" == '[' && $G_empty == 1 ]]; then
        G_empty=0; G_body_empty=0; G_expect=arg; G_prog='['; G_pword=0; G_quiet_only=$G_quiet_only
      else
        command_word "$G_w" "$G_v"
      fi
      ;;
  esac
done
[[ ${#G_heredocs[@]} == 0 && -z "$G_stack" && $G_expect != target && $G_expect != data && -z "$G_wrap" && $G_pending_op == 0 && $G_bang == 0 ]] || full_check
prog_end

# ---- ringmaster's folder, `..`, `~` and unnormalized paths, and Slack, on the command without here-doc bodies
G_st=${G_stripped,,}
G_st=${G_st//"$G_wt_lc/"/ }
[[ "$G_st" == *ringmaster* || "$G_st" == *"$G_home_lc"* ]] && full_check
[[ "$G_st" =~ (^|[^A-Za-z0-9_.-])\.\.([^A-Za-z0-9_.-]|$) ]] && full_check
G_re_tilde='(^|[[:space:]=:"'"'"'(])~'
[[ "$G_st" =~ $G_re_tilde ]] && full_check
G_re_dots='/\./|/\.([[:space:]"'"'"']|$)|[^:]//'
[[ "$G_st" =~ $G_re_dots ]] && full_check
# A variable set in this call could hold a path or URL that the checks above did not see.
[[ $G_assigned == 1 && "$G_cmd" == *'$'* ]] && full_check
[[ $G_slack == 1 && ( $G_quiet_only == 0 || $G_compound == 1 ) ]] && full_check
exit 0
