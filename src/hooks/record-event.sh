#!/bin/bash
# Claude Code hook for every event of a ringmaster child: spool the JSON
# payload as one file, named by microsecond time and pid so that files sort in
# event order. It runs on every tool call, so it is bash and cat only (a few
# ms; starting Node would cost ~50 ms). ringmaster moves the files into the
# SQLite store when it next reads state. Recording status is not a security
# gate: any failure here exits 0 so the agent is never blocked by it.
spool="$1"
cat > "$spool/${EPOCHREALTIME/./}-$$.json" 2>/dev/null
exit 0
