# multipop: exactly-once delivery over LMTP (see docs/lmtp-exactly-once.md).
#
# multipop puts its idempotency key into an X-MultiPOP-Key header. A message it hands over
# again after a crash (or after a lost reply) carries the same key: the first copy is kept,
# every later one is discarded. Mail without the header is not affected.
require ["duplicate"];

if duplicate :header "X-MultiPOP-Key" {
  discard;
  stop;
}
