# Shared by the scripts that install Debian packages for the test suites (source it).

# True when the Debian package is installed.
is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

# Prints the packages of "$@" that are not installed, one per line.
missing_packages() {
  local pkg
  for pkg in "$@"; do is_installed "$pkg" || echo "$pkg"; done
}

_apt_updated=0
apt_update_once() {
  if [[ $_apt_updated -eq 0 ]]; then
    apt-get update -qq || { sleep 5; apt-get update -qq; }
    _apt_updated=1
  fi
}

# Installs packages without letting their scripts start system services (a system Dovecot on
# 110/995, exim4, courier-authdaemon, cyrmaster): the tests start private instances. policy-rc.d
# exit 101 means "not allowed"; an existing policy-rc.d is kept. --no-remove: fail rather than
# ever remove a package (the POP3 servers conflict with each other as Debian packages).
apt_install_quietly() {
  local policy=/usr/sbin/policy-rc.d made_policy=0 status=0
  apt_update_once
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-remove "$@" >/dev/null || status=$?
  if [[ $made_policy -eq 1 ]]; then rm -f "$policy"; fi
  return "$status"
}
