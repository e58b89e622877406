#!/usr/bin/env bash
# From a fresh Debian 12 or Ubuntu 22.04+ machine (with this checkout) to the guide's deployment, in one command:
# Node.js 20 (from NodeSource's apt repository when node is missing or older: Debian 12 and Ubuntu ship 18), HAProxy,
# python3-websockets (the guide's client), npm ci, then npm start: 4 workers on localhost:8000-8003 and HAProxy on
# localhost:8080. Uses sudo when not root.
#   scripts/setup-debian.sh             install, then start the deployment (Ctrl-C stops it)
#   scripts/setup-debian.sh --no-start  install only
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

needs_node() {
  ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]
}

packages=(haproxy python3-websockets)
if needs_node; then
  # NodeSource's documented apt set-up: its signing key, then its Node 20 repository.
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq ca-certificates curl gnupg >/dev/null
  $SUDO install -d -m 0755 /etc/apt/keyrings
  if ! key="$(curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key)"; then
    echo "setup-debian: could not download NodeSource's signing key from deb.nodesource.com (see curl's error above)." >&2
    echo "Install Node.js 20 or newer another way (https://nodejs.org/en/download), then run this script again." >&2
    exit 1
  fi
  printf '%s\n' "$key" | $SUDO gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
  echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" |
    $SUDO tee /etc/apt/sources.list.d/nodesource.list >/dev/null
  packages+=(nodejs)
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
echo "node $(node --version), npm $(npm --version), $(haproxy -v | head -1)"

npm ci --no-audit --no-fund
if [ "${1:-}" != "--no-start" ]; then exec npm start; fi
