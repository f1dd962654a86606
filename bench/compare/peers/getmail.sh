#!/bin/bash
# getmail6 as a benchmark contender: one getmailrc per mailbox from the common environment
# (POP_HOST, POP_PORT, POP_TLS, POP_CA, POP_TLS_NAME, POP_USER, POP_PASS, POP_AUTH, MAILDIR,
# STATE_DIR, KEEP, POP_TIMEOUT; or POP_ACCOUNTS for several mailboxes), its own Maildir
# destination, all rc files in one getmail run. getmail refuses to deliver as root; the
# benchmark runs this script as an unprivileged user.
set -euo pipefail

: "${POP_HOST:?}" "${POP_PORT:?}" "${STATE_DIR:?}"
mkdir -p "$STATE_DIR"
export HOME=$STATE_DIR

case ${POP_TLS:-implicit} in
  implicit) retriever=SimplePOP3SSLRetriever ;;
  none) retriever=SimplePOP3Retriever ;;
  *) echo "getmail.sh: getmail6 has no POP3 STARTTLS" >&2; exit 2 ;;
esac
if [ "${KEEP:-0}" = 1 ]; then read_all=false delete=false; else read_all=true delete=true; fi

args=()
write_rc() { # index user password maildir
  local rc=$STATE_DIR/getmailrc-$1
  mkdir -p "$4"/{cur,new,tmp}
  {
    echo "[retriever]"
    echo "type = $retriever"
    echo "server = $POP_HOST"
    echo "port = $POP_PORT"
    echo "username = $2"
    echo "password = $3"
    echo "timeout = ${POP_TIMEOUT:-60}"
    [ "${POP_AUTH:-}" = apop ] && echo "use_apop = true"
    if [ "$retriever" = SimplePOP3SSLRetriever ]; then
      [ -n "${POP_CA:-}" ] && echo "ca_certs = $POP_CA"
      echo "ssl_cert_hostname = ${POP_TLS_NAME:-$POP_HOST}"
    fi
    echo
    echo "[destination]"
    echo "type = Maildir"
    echo "path = ${4%/}/"
    echo
    echo "[options]"
    echo "verbose = 0"
    echo "read_all = $read_all"
    echo "delete = $delete"
  } > "$rc"
  chmod 600 "$rc"
  args+=(--rcfile "$rc")
}

if [ -n "${POP_ACCOUNTS:-}" ]; then
  i=0
  while IFS=$'\t' read -r user pass maildir _state; do
    [ -n "$user" ] && write_rc $((i++)) "$user" "$pass" "$maildir"
  done < "$POP_ACCOUNTS"
else
  write_rc 0 "${POP_USER:?}" "${POP_PASS:?}" "${MAILDIR:?}"
fi

exec getmail --getmaildir "$STATE_DIR" "${args[@]}"
