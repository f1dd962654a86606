#!/bin/bash
# fetchmail as a benchmark contender: writes a .fetchmailrc from the common environment
# (POP_HOST, POP_PORT, POP_TLS, POP_CA, POP_TLS_NAME, POP_USER, POP_PASS, POP_AUTH, MAILDIR,
# STATE_DIR, KEEP, POP_TIMEOUT; or POP_ACCOUNTS for several mailboxes in one run) and runs it.
#
# FETCHMAIL_MDA=lda (default): each message is handed to Dovecot's LDA, which writes the
#   Maildir — fetchmail's normal way to deliver to a Maildir.
# FETCHMAIL_MDA=sink: each message goes to `cat > /dev/null` — fetchmail's best case, no
#   delivery at all.
#
# fetchmail and dovecot-lda refuse or complain when run as root; the benchmark runs this
# script as an unprivileged user. Exit status: 0 after a clean run (fetchmail's 1, "no new
# mail", counts as clean), otherwise fetchmail's status.
set -euo pipefail

: "${POP_HOST:?}" "${POP_PORT:?}" "${STATE_DIR:?}"
LDA=${DOVECOT_LDA:-/usr/lib/dovecot/dovecot-lda}
MODE=${FETCHMAIL_MDA:-lda}
mkdir -p "$STATE_DIR"
export HOME=$STATE_DIR FETCHMAILHOME=$STATE_DIR

quote() { # fetchmailrc string: backslash and double quote escaped
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# Dovecot's LDA only needs to know where to put mail and where to complain.
LDA_CONF=$STATE_DIR/lda.conf
cat > "$LDA_CONF" <<EOF
postmaster_address = postmaster@localhost
log_path = /dev/stderr
info_log_path = /dev/null
EOF

case ${POP_TLS:-implicit} in
  implicit) tls="ssl sslcertck" ;;
  starttls) tls="sslproto tls1.2+ sslcertck" ;; # no 'ssl': fetchmail must use STLS
  none) tls="sslproto ''" ;;
  *) echo "fetchmail.sh: bad POP_TLS" >&2; exit 2 ;;
esac
[ -n "${POP_CA:-}" ] && tls="$tls sslcertfile $(quote "$POP_CA")"
tls="$tls sslcommonname $(quote "${POP_TLS_NAME:-$POP_HOST}")"
# With KEEP, fetchmail remembers collected messages by UIDL ('uidl' is a server option).
if [ "${KEEP:-0}" = 1 ]; then keep=keep uidl=uidl; else keep="nokeep fetchall" uidl=; fi
protocol=pop3
[ "${POP_AUTH:-}" = apop ] && protocol=apop

user_clause() { # user password maildir
  local mda
  if [ "$MODE" = sink ]; then
    mda="cat > /dev/null"
  else
    mkdir -p "$3"
    mda="$LDA -c $LDA_CONF -e -o mail_location=maildir:$3"
  fi
  printf '  user %s there with password %s is %s here\n' "$(quote "$1")" "$(quote "$2")" "$(quote "$(id -un)")"
  printf '    options %s %s\n' "$tls" "$keep"
  printf '    mda %s\n' "$(quote "$mda")"
}

RC=$STATE_DIR/fetchmailrc
{
  echo "set no syslog"
  echo "set idfile $(quote "$STATE_DIR/fetchids")"
  printf 'poll %s protocol %s port %s timeout %s %s\n' "$(quote "$POP_HOST")" "$protocol" "$POP_PORT" "${POP_TIMEOUT:-60}" "$uidl"
  if [ -n "${POP_ACCOUNTS:-}" ]; then
    while IFS=$'\t' read -r user pass maildir _state; do
      [ -n "$user" ] && user_clause "$user" "$pass" "$maildir"
    done < "$POP_ACCOUNTS"
  else
    user_clause "${POP_USER:?}" "${POP_PASS:?}" "${MAILDIR:?}"
  fi
} > "$RC"
chmod 600 "$RC"

status=0
fetchmail --silent --nodetach --fetchmailrc "$RC" --pidfile "$STATE_DIR/fetchmail.pid" || status=$?
[ "$status" = 1 ] && status=0
exit "$status"
