#!/usr/bin/env bash
# The packed wsfleet under a real systemd, as the README's service section does it: a Debian 12 container
# (debootstrap) booted with systemd-nspawn, the tarball installed with `npm install -g`, the unit from
# `wsfleet systemd-unit --workers 4 --haproxy --user www-data`, then enable --now, the guide's client, wsfleet status,
# reload, stop with a client connected, a SIGKILLed primary restarted by Restart=on-failure, then a --config unit:
# systemctl reload with a changed and a bad file, and wsfleet upgrade (MAINPID= follows). Needs root, the
# network to deb.debian.org and the npm registry, and about 3 minutes (1 when the base image is cached).
#   npm run test:systemd               (WSFLEET_CHECK_DIR, default /var/tmp/wsfleet-systemd-check, caches the image)
# The container shares the host's network: WSFLEET_CHECK_BASE_PORT and WSFLEET_CHECK_FRONTEND_PORT (default the
# guide's 8000 and 8080) move the fleet when the host uses those ports.
# Not part of `npm test`: it downloads a Debian system and boots it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR="$(pwd)"
WORK="${WSFLEET_CHECK_DIR:-/var/tmp/wsfleet-systemd-check}"
BASE="$WORK/base"
TREE="$WORK/tree"
MACHINE="wsfleet-check-$$"
BASE_PORT="${WSFLEET_CHECK_BASE_PORT:-8000}"
FRONTEND_PORT="${WSFLEET_CHECK_FRONTEND_PORT:-8080}"
PORTS="--base-port $BASE_PORT --frontend-port $FRONTEND_PORT"
failures=0

step() { printf '\n== %s\n' "$*"; }
pass() { printf 'PASS %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*"
  failures=$((failures + 1))
}

if [ "$(id -u)" != "0" ]; then
  echo "systemd-check: run as root (debootstrap and systemd-nspawn need it)" >&2
  exit 2
fi
for tool in debootstrap systemd-nspawn; do
  if ! command -v "$tool" >/dev/null; then
    step "installing debootstrap and systemd-container"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap systemd-container >/dev/null
    break
  fi
done

mkdir -p "$WORK"
if [ ! -x "$BASE/lib/systemd/systemd" ]; then
  step "debootstrap bookworm into $BASE"
  rm -rf "$BASE"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,procps \
    bookworm "$BASE" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log"; exit 1; }
fi
rm -rf "$TREE"
cp -a "$BASE" "$TREE"

step "Node.js, the tarball and the host's CA certificates into the container"
# Node.js as this machine has it (Debian 12 ships 18; NodeSource's 20 is what scripts/setup-debian.sh installs).
NODE_BIN="$(command -v node)"
NPM_DIR="$(npm root -g)/npm"
install -m 0755 "$NODE_BIN" "$TREE/usr/bin/node"
mkdir -p "$TREE/usr/lib/node_modules"
cp -a "$NPM_DIR" "$TREE/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$TREE/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$TREE/usr/bin/npx"
# A proxy that re-signs TLS needs its CA inside too; on an ordinary machine this copies nothing new.
cp /usr/local/share/ca-certificates/*.crt "$TREE/usr/local/share/ca-certificates/" 2>/dev/null || true
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$TREE/etc/hosts"
TARBALL="$(npm pack --silent --pack-destination "$TREE/root" | tail -1)"
echo "packed $TARBALL"

step "booting systemd in the container ($MACHINE)"
systemd-nspawn -D "$TREE" --boot --register=no --keep-unit -M "$MACHINE" --console=passive \
  >"$WORK/nspawn.log" 2>&1 &
NSPAWN=$!
cleanup() {
  kill "$NSPAWN" 2>/dev/null || true
  wait "$NSPAWN" 2>/dev/null || true
}
trap cleanup EXIT
leader=""
for _ in $(seq 1 100); do
  leader="$(pgrep -P "$NSPAWN" -x systemd || true)"
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { cat "$WORK/nspawn.log"; echo "systemd did not start in the container" >&2; exit 1; }
in_box() { nsenter -t "$leader" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
for _ in $(seq 1 100); do
  state="$(in_box systemctl is-system-running 2>/dev/null || true)"
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
echo "system: $state, $(in_box systemctl --version | head -1)"

step "apt-get install haproxy python3-websockets; npm i -g the tarball"
in_box bash -c 'update-ca-certificates >/dev/null 2>&1; export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq haproxy python3-websockets >/dev/null'
in_box bash -c "cd /root && NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm i -g ./$TARBALL --no-audit --no-fund"
echo "node $(in_box node --version), $(in_box haproxy -v | head -1)"

step "wsfleet systemd-unit --workers 4 --haproxy --user www-data > /etc/systemd/system/wsfleet.service"
in_box bash -c "wsfleet systemd-unit --workers 4 --haproxy $PORTS --user www-data > /etc/systemd/system/wsfleet.service"
verify="$(in_box systemd-analyze verify /etc/systemd/system/wsfleet.service 2>&1 || true)"
if [ -z "$verify" ]; then pass "systemd-analyze verify printed nothing"; else fail "systemd-analyze verify: $verify"; fi

show() { in_box systemctl show wsfleet -p "$1" --value; }
# The guide's client through HAProxy: PASS when it gets its Hello! back.
echo_check() {
  local reply
  if reply="$(in_box python3 -c "$ECHO_CHECK")" && [ "$reply" = "< Hello!" ]; then pass "$1: $reply"; else fail "$1: $reply"; fi
}
ECHO_CHECK='
import asyncio, sys, websockets
async def main():
    async with websockets.connect("ws://localhost:'"$FRONTEND_PORT"'/") as ws:
        await ws.send("Hello!")
        print("<", await ws.recv())
asyncio.run(main())'
HOLD_CLIENT='
import asyncio, websockets
async def main():
    async with websockets.connect("ws://localhost:'"$FRONTEND_PORT"'/") as ws:
        print("held: open", flush=True)
        await ws.wait_closed()
        print("held client closed:", ws.close_code, ws.close_reason, flush=True)
asyncio.run(main())'

step "systemctl enable --now wsfleet (Type=notify: returns once READY=1 is in)"
start_ms=$(date +%s%3N)
in_box systemctl daemon-reload
if in_box systemctl enable --now wsfleet 2>&1; then
  pass "started in $(($(date +%s%3N) - start_ms)) ms: $(show ActiveState)/$(show SubState), status \"$(show StatusText)\""
else
  fail "enable --now failed"
  in_box journalctl -u wsfleet --no-pager -n 40 -o cat
fi
[ "$(show SubState)" = "running" ] || fail "SubState is $(show SubState), not running"
echo_check "guide's client"

user="$(in_box ps -o user= -p "$(show MainPID)" | tr -d ' ')"
[ "$user" = "www-data" ] && pass "the primary runs as www-data" || fail "the primary runs as $user"
status="$(in_box wsfleet status --runtime-dir /run/wsfleet 2>&1 || true)"
echo "$status"
[ "$(grep -c RUNNING <<<"$status")" -ge 4 ] && pass "wsfleet status --runtime-dir /run/wsfleet lists 4 RUNNING" ||
  fail "wsfleet status: $status"

step "systemctl reload wsfleet: RELOADING=1 … READY=1 around the rolling restart"
in_box systemctl reload wsfleet
states=""
for _ in $(seq 1 60); do
  sub="$(show SubState)"
  case "$states" in *"$sub"*) ;; *) states="$states $sub" ;; esac
  if [ "$sub" = "running" ] && [ "$states" != " running" ]; then break; fi
  sleep 0.25
done
echo "SubState seen:$states; journal:"
in_box journalctl -u wsfleet --no-pager -o cat -n 30 | grep -E 'rolling restart|Reload' || true
case "$states" in *reload*running*) pass "reload, then running again ($(show StatusText))" ;; *) fail "SubStates during reload:$states" ;; esac
echo_check "echo after reload"

step "journalctl -p warning (the journal keeps each line's <N> priority)"
in_box journalctl -u wsfleet -p warning --no-pager -o cat | sed 's/^/  /'
if in_box journalctl -u wsfleet -p info --no-pager -o cat | grep -q 'INFO ready:' &&
  ! in_box journalctl -u wsfleet -p warning --no-pager -o cat | grep -q 'INFO '; then
  pass "INFO lines are not in -p warning, ready line is in -p info"
else
  fail "priorities: INFO lines in -p warning, or no ready line"
fi

step "systemctl stop wsfleet with a client connected: 1001, no SIGKILL, nothing left"
in_box python3 -c "$HOLD_CLIENT" >"$TREE/root/held.log" 2>&1 &
HELD=$!
for _ in $(seq 1 50); do grep -q 'held: open' "$TREE/root/held.log" && break; sleep 0.1; done
stop_ms=$(date +%s%3N)
in_box systemctl stop wsfleet
echo "stopped in $(($(date +%s%3N) - stop_ms)) ms: $(show ActiveState), result $(show Result)"
wait "$HELD" || true
cat "$TREE/root/held.log"
grep -q 'held client closed: 1001' "$TREE/root/held.log" && pass "the held client got 1001" || fail "held client: $(cat "$TREE/root/held.log")"
[ "$(show Result)" = "success" ] && pass "Result=success" || fail "Result=$(show Result)"
killed="$(in_box journalctl -u wsfleet --no-pager -o cat | grep SIGKILL || true)"
if [ -n "$killed" ]; then
  fail "systemd had to SIGKILL something at stop:"
  echo "$killed"
else
  pass "no process left for KillMode=mixed to SIGKILL"
fi
left="$(in_box pgrep -af 'wsfleet|dist/worker|haproxy -f /run/wsfleet' || true)"
[ -z "$left" ] && pass "no wsfleet process left" || fail "left running: $left"
[ ! -e "$TREE/run/wsfleet" ] && pass "RuntimeDirectory /run/wsfleet removed" || fail "/run/wsfleet left"

step "kill -9 the primary: Restart=on-failure starts a new fleet, the old workers do not linger"
in_box systemctl start wsfleet
old_pid="$(show MainPID)"
old_workers="$(in_box pgrep -f 'dist/worker.js' | tr '\n' ' ')"
in_box kill -9 "$old_pid"
for _ in $(seq 1 80); do
  new_pid="$(show MainPID)"
  [ "$new_pid" != "0" ] && [ "$new_pid" != "$old_pid" ] && [ "$(show SubState)" = "running" ] && break
  sleep 0.25
done
echo "MainPID $old_pid -> $new_pid, $(show SubState), NRestarts=$(show NRestarts)"
[ "$(show SubState)" = "running" ] && [ "$new_pid" != "$old_pid" ] && pass "restarted by systemd" || fail "not restarted"
lingering=""
for pid in $old_workers; do in_box kill -0 "$pid" 2>/dev/null && lingering="$lingering $pid"; done
[ -z "$lingering" ] && pass "old workers ($old_workers) are gone" || fail "old workers still running:$lingering"
echo_check "echo after the restart"
in_box systemctl stop wsfleet

step "--config: wsfleet systemd-unit --config /etc/wsfleet/fleet.json; systemctl reload applies a changed file"
in_box bash -c 'mkdir -p /etc/wsfleet && printf "%s\n" "{\"workers\": 2, \"haproxy\": true, \"drain-spread\": 1, \"base-port\": '"$BASE_PORT"', \"frontend-port\": '"$FRONTEND_PORT"'}" > /etc/wsfleet/fleet.json'
in_box bash -c 'wsfleet systemd-unit --config /etc/wsfleet/fleet.json --user www-data > /etc/systemd/system/wsfleet.service'
grep -q '^ExecReload=.* reload --runtime-dir /run/wsfleet --pid \$MAINPID$' "$TREE/etc/systemd/system/wsfleet.service" &&
  pass "ExecReload= is wsfleet reload" || fail "ExecReload=: $(grep ExecReload "$TREE/etc/systemd/system/wsfleet.service")"
in_box systemctl daemon-reload
in_box systemctl start wsfleet
running() { in_box wsfleet status --runtime-dir /run/wsfleet 2>&1 | grep -c 'RUNNING' || true; }
[ "$(running)" -ge 3 ] && pass "2 workers and haproxy RUNNING from the file" || fail "after start: $(running) RUNNING"
in_box python3 -c "$HOLD_CLIENT" >"$TREE/root/held-reload.log" 2>&1 &
HELD=$!
for _ in $(seq 1 50); do grep -q 'held: open' "$TREE/root/held-reload.log" && break; sleep 0.1; done
in_box sed -i 's/"workers": 2/"workers": 3/' /etc/wsfleet/fleet.json
if in_box systemctl reload wsfleet; then pass "systemctl reload with workers 2 -> 3"; else fail "systemctl reload failed"; fi
[ "$(running)" -ge 4 ] && pass "3 workers RUNNING after the reload" || fail "after reload: $(running) RUNNING"
in_box journalctl -u wsfleet --no-pager -o cat | grep -E 'workers "2" → "3"' | tail -1
in_box sed -i 's/"workers": 3/"workers": "lots"/' /etc/wsfleet/fleet.json
if in_box systemctl reload wsfleet 2>/dev/null; then fail "systemctl reload accepted a bad file"; else pass "systemctl reload refused the bad file"; fi
[ "$(running)" -ge 4 ] && pass "still 3 workers after the refused reload" || fail "after refused reload: $(running) RUNNING"
in_box sed -i 's/"workers": "lots"/"workers": 3/' /etc/wsfleet/fleet.json
kill -0 "$HELD" 2>/dev/null && pass "the held client is still connected after both reloads" || fail "held client: $(cat "$TREE/root/held-reload.log")"

step "wsfleet upgrade under systemd: MAINPID follows the new primary, the held client gets 1012, nothing is left of the old"
old_pid="$(show MainPID)"
in_box wsfleet upgrade --runtime-dir /run/wsfleet || fail "wsfleet upgrade failed"
for _ in $(seq 1 80); do
  new_pid="$(show MainPID)"
  [ "$new_pid" != "$old_pid" ] && ! in_box kill -0 "$old_pid" 2>/dev/null && break
  sleep 0.25
done
echo "MainPID $old_pid -> $new_pid, $(show SubState), status \"$(show StatusText)\""
[ "$new_pid" != "$old_pid" ] && [ "$(show SubState)" = "running" ] && pass "systemd follows the new primary" ||
  fail "MainPID $old_pid -> $new_pid, $(show SubState)"
wait "$HELD" || true
grep -q 'held client closed: 1012' "$TREE/root/held-reload.log" && pass "the held client got 1012" ||
  fail "held client: $(cat "$TREE/root/held-reload.log")"
status="$(in_box wsfleet status --runtime-dir /run/wsfleet 2>&1 || true)"
grep -q "primary pid $new_pid" <<<"$status" && pass "wsfleet status answers from the new primary" || fail "status: $status"
echo_check "echo after the upgrade"
in_box systemctl stop wsfleet
if [ "$(show Result)" = "success" ]; then pass "stopped: Result=success"; else
  fail "Result=$(show Result)"
  in_box journalctl -u wsfleet --no-pager -o cat -n 40
fi

step "result"
if [ "$failures" -eq 0 ]; then echo "systemd-check: all passed"; else echo "systemd-check: $failures failed"; fi
in_box systemctl poweroff >/dev/null 2>&1 || true
for _ in $(seq 1 50); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
[ "$failures" -eq 0 ]
