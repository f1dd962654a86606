#!/usr/bin/env bash
# Installs the four extra POP3 servers the interoperability tests run beside Dovecot:
# Cyrus, Courier, popa3d and GNU Mailutils.
#
# Why not plain `apt-get install`: every Debian POP3 server package "Provides/Conflicts:
# pop3-server", so installing one removes the others (popa3d would remove dovecot-pop3d,
# which the rest of the test suite needs). Instead this script
#   1. apt-get installs the dependencies that do not conflict (libraries, cyrus-common,
#      courier-base with its authdaemon, sasl2-bin, socat), and
#   2. `apt-get download`s each server package and unpacks it with `dpkg -x` into
#      $MULTIPOP_INTEROP_ROOT/<name> (default /opt/multipop-interop), from where the test
#      harnesses in test/helpers/servers/ run the binaries.
# Nothing is started here; package scripts cannot start services (policy-rc.d), and the
# harnesses start private instances on loopback ports for each test run.
#
# Idempotent: installed dependencies and already unpacked packages (same version) are skipped.
# Needs root. Usage: bash scripts/install-interop-servers.sh
set -euo pipefail

ROOT="${MULTIPOP_INTEROP_ROOT:-/opt/multipop-interop}"
export DEBIAN_FRONTEND=noninteractive

if [[ $(id -u) -ne 0 ]]; then
  echo "install-interop-servers: must run as root" >&2
  exit 1
fi

# Dependencies installed the ordinary way. None of them provides pop3-server.
DEPENDENCIES=(
  socat                  # popa3d is inetd-style: socat accepts and spawns it per connection
  openssl                # `openssl passwd -6` for the popa3d test user's shadow entry
  util-linux             # unshare, for private bind mounts (popa3d, Courier)
  sasl2-bin              # saslpasswd2 (Cyrus users)
  cyrus-common           # cyrmaster, reconstruct, mbpath, lmtpd of Cyrus
  courier-base           # couriertcpd, couriertls, maildirmake.courier, /etc/courier
  courier-authdaemon     # authdaemond
  courier-authlib-userdb # makeuserdb, userdbpw
  mailutils-common       # libraries and data of GNU Mailutils' pop3d / popauth
  libmailutils9
  libmu-dbm9
  libgsasl18
  libkyotocabinet16v5
  libwrap0
  libcourier-unicode4
  libidn12
  libpam0g
)

# Server packages unpacked privately: <directory name>=<Debian package>.
SERVERS=(
  cyrus=cyrus-pop3d
  courier=courier-pop
  popa3d=popa3d
  mailutils=mailutils-pop3d
)

# shellcheck source=lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

mapfile -t missing < <(missing_packages "${DEPENDENCIES[@]}")
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-interop-servers: installing ${missing[*]}"
  apt_install_quietly "${missing[@]}"
fi

mkdir -p "$ROOT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download fetches as the `_apt` user when it can write the target directory.
chmod 0755 "$work"
if id _apt >/dev/null 2>&1; then chown _apt "$work"; fi
for entry in "${SERVERS[@]}"; do
  name="${entry%%=*}"
  pkg="${entry#*=}"
  version="$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')"
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    apt_update_once
    version="$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')"
  fi
  stamp="$ROOT/$name/.unpacked-$pkg"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    continue
  fi
  echo "install-interop-servers: unpacking $pkg $version into $ROOT/$name"
  (cd "$work" && apt-get download -qq "$pkg=$version") || {
    apt_update_once
    (cd "$work" && apt-get download -qq "$pkg")
  }
  rm -rf "$ROOT/$name.new"
  mkdir -p "$ROOT/$name.new"
  dpkg -x "$work"/"${pkg}"_*.deb "$ROOT/$name.new"
  echo "$version" >"$ROOT/$name.new/.unpacked-$pkg"
  rm -rf "$ROOT/$name"
  mv "$ROOT/$name.new" "$ROOT/$name"
  rm -f "$work"/*.deb
done

# The whole point of the private unpacking: Dovecot must still be there.
for pkg in dovecot-core dovecot-pop3d; do
  if ! is_installed "$pkg"; then
    echo "install-interop-servers: $pkg is no longer installed" >&2
    exit 1
  fi
done
echo "install-interop-servers: ready in $ROOT (cyrus courier popa3d mailutils)"
