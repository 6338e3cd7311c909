#!/usr/bin/env bash
# Register ringmaster with Claude Code by hand (what `ringmaster install` does).
# Run from the ringmaster checkout after `npm ci && npm run build`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

# User scope: every Claude Code session of this user gets the tools.
# The node flags keep the long-lived server small (src/setup/install.ts, SERVE_NODE_FLAGS; V8 reads them only on node's command line).
claude mcp add --scope user ringmaster -- "$(command -v node)" --max-semi-space-size=1 --heap-growing-percent=50 "$here/dist/src/cli.js" serve

# Optional settings travel as -e flags, placed after the name (-e takes many values):
#   claude mcp add --scope user ringmaster -e RINGMASTER_HOME="$HOME/.ringmaster" \
#     -e RINGMASTER_CHILD_PERMISSION_MODE=acceptEdits -- node --max-semi-space-size=1 --heap-growing-percent=50 "$here/dist/src/cli.js" serve

claude mcp list   # expect: ringmaster: … - ✔ Connected
