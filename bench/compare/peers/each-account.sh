#!/bin/bash
# Runs a single-mailbox collector command once per line of $POP_ACCOUNTS
# (user<TAB>password<TAB>maildir<TAB>statedir), setting POP_USER, POP_PASS, MAILDIR and
# STATE_DIR for each; the other POP_* variables pass through. PARALLEL (default 1) runs that
# many at a time. Exits 1 if any run failed, after all have finished.
#
#   POP_ACCOUNTS=accounts.tsv PARALLEL=8 each-account.sh node dist-examples/collect-to-maildir.js
set -uo pipefail

: "${POP_ACCOUNTS:?}"
parallel=${PARALLEL:-1}
failed=0
running=0

while IFS=$'\t' read -r user pass maildir state; do
  [ -n "$user" ] || continue
  if [ "$running" -ge "$parallel" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  POP_USER=$user POP_PASS=$pass MAILDIR=$maildir STATE_DIR=$state POP_ACCOUNTS='' "$@" &
  running=$((running + 1))
done < "$POP_ACCOUNTS"

while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
