#!/usr/bin/env bash
# scripts/deps.sh: installs every Debian and npm package that the build, `make run` and
# `make test` need, skipping what is present. apt runs as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(build-essential pkg-config clang-14 libclang-rt-14-dev
  libuv1-dev libsrtp2-dev libnice-dev libssl-dev libjansson-dev libhiredis-dev libjwt-dev
  zlib1g-dev node-llhttp redis-server nodejs npm chromium iproute2 util-linux ffmpeg openssl
  valgrind clang-format curl nginx-light coturn prometheus
  libavformat-dev libavcodec-dev libavutil-dev)

missing=()
for p in "${APT_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # nodejs/npm may come from elsewhere (nodesource): accept any working node + npm
    if [[ $p == nodejs || $p == npm ]] && command -v "${p/nodejs/node}" >/dev/null; then continue; fi
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q
  # nginx, coturn, redis and prometheus are installed for the tests, which start their own
  # instances on loopback: keep the packages from starting system services while installing.
  policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  [[ -n $policy ]] && $SUDO rm -f "$policy" && trap - EXIT
fi

# npm: one lockfile per folder; reinstall only when the lockfile changed.
for d in tests signal/www; do
  [[ -f $d/package-lock.json ]] || continue
  stamp=$d/node_modules/.onair-lock
  if [[ ! -f $stamp ]] || ! cmp -s "$d/package-lock.json" "$stamp"; then
    echo "deps: npm ci in $d"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$d/package-lock.json" "$stamp"
  fi
done
