#!/usr/bin/env bash
# Makes sure the real servers the test suites use are installed: Dovecot (POP3, LMTP), the four
# other POP3 servers of the interoperability suite (unpacked privately, they conflict as Debian
# packages), Chromium for the webmail browser test, and the peers of the comparison suite.
# Run by `npm test` before vitest, and by .ci/run. Installs only as root on a Debian machine with
# apt-get; anywhere else it says what is missing and goes on — the real-server suites then skip
# loudly (and fail under CI=true).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Dovecot is the real POP3 (and LMTP, with Sieve's duplicate extension) server of the tests;
# Redis and PostgreSQL back the scale-out suites (started privately per run, never as services); openssl makes their certificates;
# python3/make/g++ compile better-sqlite3 (no prebuilt binary is reachable).
APT_PACKAGES=(dovecot-core dovecot-pop3d dovecot-lmtpd dovecot-sieve redis-server postgresql openssl ca-certificates python3 make g++)
# chromium: the webmail example's browser test. fetchmail, getmail6, time: the comparison suite.
EXTRA_APT_PACKAGES=(chromium fetchmail getmail6 time)

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "ensure-test-servers: not a Debian machine; install Dovecot, Chromium and the interop servers yourself (see docs/getting-started.md)" >&2
  exit 0
fi
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
mapfile -t missing < <(missing_packages "${APT_PACKAGES[@]}" "${EXTRA_APT_PACKAGES[@]}")
if [[ $(id -u) -ne 0 ]]; then
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "ensure-test-servers: missing ${missing[*]} — run 'sudo bash scripts/ensure-test-servers.sh' to install; the real-server suites will skip" >&2
  fi
  exit 0
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "ensure-test-servers: installing ${missing[*]}"
  apt_install_quietly "${missing[@]}"
fi
# Idempotent: a few seconds when everything is already unpacked.
bash scripts/install-interop-servers.sh
