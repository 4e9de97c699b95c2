#!/usr/bin/env bash
# Install the Debian packages gitkv needs to build and test (idempotent:
# only what is missing is installed). Run as root, or with sudo available.
set -euo pipefail

# lighttpd (+ its TLS module), openssl and openssh-server: the git servers
# kvctl's sync tests start on 127.0.0.1 (tests/cli/servers.py).
# libmicrohttpd, md4c (+ its HTML renderer), chromium and wrk: examples/canopy,
# its screenshot test and its benchmark.
pkgs=(build-essential meson ninja-build pkg-config libgit2-dev liblmdb-dev zlib1g-dev libdeflate-dev libssl-dev
      libcmocka-dev git python3-pytest python3-pygit2 python3-setuptools python3-pip lmdb-utils
      groff-base lighttpd lighttpd-mod-openssl openssl openssh-server openssh-client
      libmicrohttpd-dev libmd4c-dev libmd4c-html0-dev chromium wrk)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
