#!/usr/bin/env bash
# The programs the tests run beside digistrat, from Debian, when they are missing:
# Chromium (browser tests), Virtuoso Open Source (a remote store, tests/api/test_virtuoso.py)
# and nginx (two web instances behind a proxy, tests/api/test_two_instances.py).
# Packages' own services are not started: the tests run their own instances on loopback.
set -euo pipefail
wanted=()
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
command -v virtuoso-t >/dev/null 2>&1 || wanted+=(virtuoso-opensource)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || wanted+=(nginx)
[ ${#wanted[@]} -eq 0 ] && exit 0
echo "installing from Debian for the tests: ${wanted[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
policy=/usr/sbin/policy-rc.d
added=""
if [ ! -e "$policy" ]; then  # refuse service starts during the install (exit 101)
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  added=1
fi
cleanup() { [ -z "$added" ] || $sudo rm -f "$policy"; }
trap cleanup EXIT
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  "${wanted[@]}"
