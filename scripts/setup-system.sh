#!/usr/bin/env bash
# System packages the kit uses beyond Node: Jupyter Notebook (to register and serve the tslab
# kernel for the browser check) and Chromium (driven headless by playwright-core). Idempotent.
set -euo pipefail
need=()
command -v jupyter-notebook >/dev/null 2>&1 || need+=(jupyter-notebook)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-system: please install: ${need[*]} (apt-get, as root)" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Register the tslab kernel with Debian's Jupyter (its python3, not a pyenv shim on PATH), once
# the repository's node_modules exist. `npm run test:e2e` does not rely on this: it registers the
# kernel in a private Jupyter directory of its own.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -x "$root/node_modules/.bin/tslab" ]; then
  "$root/node_modules/.bin/tslab" install --python=/usr/bin/python3 \
    --binary="$root/node_modules/.bin/tslab" >/dev/null
fi
