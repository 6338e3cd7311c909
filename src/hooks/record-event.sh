#!/bin/bash
# Claude Code hook for every event of a ringmaster child: spool the JSON
# payload as one file, named by microsecond time and pid so that files sort in
# event order. It runs on every tool call, so it is bash alone: a payload up
# to 2 kB is read by the read builtin and written by printf, with no process
# started (a longer one takes one `cat`; starting Node would cost ~50 ms).
# The PreToolUse payload is recorded by gate.sh. ringmaster moves the files into the
# SQLite store when it next reads state. Recording status is not a security
# gate: any failure here exits 0 so the agent is never blocked by it.
# `gate-fast --record` (src/hooks/gate-fast.c) is the same in C, run instead of
# this script wherever ringmaster could compile it: change the two together.
LC_ALL=C
spool="$1"
file="$spool/${EPOCHREALTIME/./}-$$.json"
# The read builtin reads a pipe a byte at a time: past 2 kB, cat takes the rest.
IFS= read -r -d '' -n 2048 payload
if [[ ${#payload} == 2048 ]]; then
  { printf '%s' "$payload"; cat; } > "$file" 2>/dev/null
else
  { printf '%s' "$payload" > "$file"; } 2>/dev/null
fi
# After a tool call (Agent/Task: children have no PostToolUse for other tools) or at the end of a
# turn (once: not when a Stop hook already made it go on), tell the agent in words why the egress
# gate refused a connection (an HTTPS client shows only "CONNECT tunnel failed, response 403").
# The next PreToolUse does it too (gate.sh).
notices="${spool%/*}/egress-notices"
if [[ -s "$notices" ]]; then
  event=
  grep -q '"hook_event_name":"PostToolUse"' "$file" 2>/dev/null && event=post
  [[ -z $event ]] && grep -q '"hook_event_name":"Stop"' "$file" 2>/dev/null && ! grep -q '"stop_hook_active":true' "$file" 2>/dev/null && event=stop
  if [[ -n $event ]]; then
    text=$(<"$notices")
    : > "$notices"
    text=${text//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\n'/\\n}
    text=${text//[[:cntrl:]]/ }
    if [[ $event == post ]]; then
      printf '{"hookSpecificOutput":{"hookEventName":"PostToolUse","additionalContext":"%s"}}\n' "$text"
    else
      printf '{"decision":"block","reason":"%s"}\n' "$text"
    fi
  fi
fi
exit 0
