#!/bin/sh
# The system packages roje's tests, benchmarks and build need, checked (and installed when run as root)
# before anything else. Plain POSIX sh with no dependencies, so it runs on a fresh machine that has only
# Node and npm, before node_modules exists.
#
#   sh test/setup/preflight.sh         every package in the table below (.ci/run, before its `npm ci`)
#   sh test/setup/preflight.sh test    the same, then `npm ci` if node_modules is missing (npm test)
#   sh test/setup/preflight.sh start   if node_modules is missing: the build tools, then `npm ci` (npm start)
#
# Nothing missing: silent, exit 0, in milliseconds. A package missing: as root, apt-get installs it;
# otherwise it prints the one `sudo apt-get install` line and exits 1.
set -u
cd "$(dirname "$0")/../.." || exit 1

# probe (a command on PATH, or an absolute path where the code names one) -> Debian package; group; who
# needs it. "build" is what `npm ci` needs: better-sqlite3 builds from source, its prebuilt binaries are
# not reachable from here.
TABLE='
python3                              python3          build  node-gyp, for better-sqlite3
make                                 make             build  node-gyp, for better-sqlite3
g++                                  g++              build  node-gyp, for better-sqlite3
dig                                  bind9-dnsutils   test   integration tests (test/helpers/roje.ts, process.ts), dns/render
kdig                                 knot-dnsutils    test   integration tests (TCP keep-open, EDNS, CHAOS)
/usr/sbin/unbound                    unbound          test   verify against an unfiltered peer; bench/load; the conformance reference (test/helpers/conformance/unbound.ts)
/usr/sbin/knotd                      knot             test   conformance suite: the authoritative server (test/helpers/conformance/knot.ts)
openssl                              openssl          test   throwaway TLS certificates (test/helpers/certs.ts)
xz                                   xz-utils         test   the bundled real lists (blocklists/data/*.xz)
/usr/bin/chromium                    chromium         test   block page, dashboard and report in a browser (test/helpers/browser.ts)
promtool                             prometheus       test   checks deploy/ alert rules and Prometheus config
pg_ctlcluster                        postgresql       test   the shared store tests run a real PostgreSQL (test/helpers/postgres.ts)
/etc/ssl/certs/ca-certificates.crt   ca-certificates  test   a trust store for apt and npm behind TLS
dnsperf                              dnsperf          bench  bench/load (npm run bench:*)
taskset                              util-linux       bench  bench/load pins server and load to separate CPUs
/usr/sbin/dnsmasq                    dnsmasq-base     bench  bench/load blocked: the blocklist peer (bench/load/dnsmasq.ts)
'

# Prints "probe package" for each missing row whose group is one of $1.
missing_rows() {
  printf '%s\n' "$TABLE" | while read -r probe package group _; do
    [ -n "$probe" ] || continue
    case " $1 " in *" $group "*) ;; *) continue ;; esac
    case "$probe" in
      /*) [ -e "$probe" ] && continue ;;
      # /usr/sbin is off a normal user's PATH, but the tests call those tools by absolute path anyway.
      *) { command -v "$probe" || [ -x "/usr/sbin/$probe" ]; } >/dev/null 2>&1 && continue ;;
    esac
    printf '%s %s\n' "$probe" "$package"
  done
}

# Makes sure every tool of the groups in $1 is there; returns non-zero (having said why) when not.
ensure() {
  missing=$(missing_rows "$1")
  [ -n "$missing" ] || return 0
  probes=$(printf '%s\n' "$missing" | awk '{ printf "%s%s (%s)", sep, $1, $2; sep = ", " }')
  packages=$(printf '%s\n' "$missing" | awk '{ print $2 }' | sort -u | tr '\n' ' ' | sed 's/ $//')
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "preflight: missing $probes; this is not a Debian-like system: install the equivalents of: $packages" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "preflight: missing $probes. Install them, then run this again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends $packages" >&2
    return 1
  fi
  echo "preflight: missing $probes: installing $packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # one word per package
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages >/dev/null; }; then
    echo "preflight: apt-get install $packages failed" >&2
    return 1
  fi
  still=$(missing_rows "$1")
  if [ -n "$still" ]; then
    echo "preflight: still missing after apt-get install: $(printf '%s\n' "$still" | awk '{ print $1 }' | tr '\n' ' ')" >&2
    return 1
  fi
}

# npm ci when node_modules is absent or unfinished (npm writes node_modules/.package-lock.json last).
install_node_modules() {
  [ -e node_modules/.package-lock.json ] && return 0
  echo "preflight: node_modules is missing: running npm ci" >&2
  ensure 'build' && npm ci --no-audit --no-fund
}

case "${1:-system}" in
  system) ensure 'build test bench' ;;
  test) ensure 'build test bench' && install_node_modules ;;
  start) install_node_modules ;;
  *)
    echo "usage: sh test/setup/preflight.sh [test|start]" >&2
    exit 2
    ;;
esac
