#!/usr/bin/env bash
# Register ringmaster with Claude Code by hand (what `ringmaster install` does).
# Run from the ringmaster checkout after `npm ci && npm run build`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

# User scope: every Claude Code session of this user gets the tools.
claude mcp add --scope user ringmaster -- "$(command -v node)" "$here/dist/src/cli.js" serve

# Optional settings travel as -e flags, placed after the name (-e takes many values):
#   claude mcp add --scope user ringmaster -e RINGMASTER_HOME="$HOME/.ringmaster" \
#     -e RINGMASTER_CHILD_PERMISSION_MODE=acceptEdits -- node "$here/dist/src/cli.js" serve

claude mcp list   # expect: ringmaster: … - ✔ Connected
