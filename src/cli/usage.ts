export const USAGE = `Usage: roje <command> [options]

Commands:
  serve [--config FILE] [--listen HOST:PORT]... [--upstream URL]... [--list CATEGORY=PATH]...
        [--compiled FILE] [--admin HOST:PORT] [--blockpage HOST:PORT]... [--watch-config]
        Run the resolver. With no options: loopback, port 5353, the upstreams of /etc/resolv.conf,
        the bundled demo lists. --listen, --upstream and --list replace the config file's values and
        may be repeated; --compiled serves a precompiled artifact instead of compiling lists;
        --admin replaces admin.listen (the admin API's address), --blockpage blockPage.listen;
        --watch-config reloads when the --config file changes, as SIGHUP does.
  compile --list CATEGORY=PATH... --out FILE [--format json] [--sign-key FILE]
          [--abuse-key FILE] [--abuse-pages count|block-host]
  compile --squidguard DIR [--category NAME]... --out FILE
  compile --config FILE --out FILE
        Compile lists (hosts, domains, adblock, RPZ, squidGuard; detected from the content) into one
        artifact for --compiled / \`compiled:\`. Prints rules, skipped lines and sha256 per source.
        --sign-key also writes FILE.sig (Ed25519) for fleet edges (fleet.pull); --abuse-key is the
        deployment's HMAC key for an abuse source.
  token --name NAME --role admin|operator|auditor
        Make an admin API token: prints the token once and the hashed entry for admin.tokens.
  check-config FILE
        Validate a config file and print a summary; exit code 2 when it is not valid.
  verify --server HOST:PORT [--tcp | --transports udp,tcp] [--suite friendly-wifi|FILE]
         --out report.html|report.json [--sign-key FILE] [--block-address IP]... [--timeout 2s]
         [--sample CATEGORY=FILE]... [--allow-sample FILE] [--sample-size N] [--seed S] [--min-rate R]
         [--max-overblock R] [--sample-key FILE] [--abuse-min-entries N] [--qps N]
        Run a compliance suite against any DNS resolver, and a random sample of your own lists (names
        recorded as keyed hashes only); exit 0 only if every case, sample and the abuse evidence pass.
  verify-report FILE --key PUB.pem
        Check a signed verify report offline; exit 1 when it was changed or signed by another key.
  keygen --out FILE
        Make an Ed25519 signing key pair (FILE, mode 0600, and FILE.pub) for signed reports.
  report --month YYYY-MM [--site NAME] [--instance NAME] [--format html|csv|json]
         (--config FILE | --stats PATH) [--out FILE]
        Transparency report of a month from the statistics database (counts only, never a name); with
        a shared store (store.url) the whole city's, or one instance's with --instance.
  migrate --config FILE
        Bring the statistics store's schema (store.url, or the stats.path file) to this roje's version;
        prints the versions from and to. Safe while instances start (they migrate under one lock).
  lookup NAME [--venue V] [--admin URL] [--token-file FILE] [--json]
        Ask a running roje (admin API, auditor token; ROJE_TOKEN or --token-file) why NAME is blocked
        or not, per venue: the decision, the categories, and the source, rule and line that list it.
  version
        Print roje's version.
  help
        Print this help.

Upstream URLs: udp://IP[:53]  tcp://IP[:53]  tls://IP[:853]#SERVERNAME  https://HOST[:443]/dns-query
Signals (serve): SIGTERM/SIGINT finish in-flight queries and exit; SIGHUP reloads the config file.
Reloads (SIGHUP, --watch-config) are audited, refused ones too (GET /api/v1/audit).
Exit codes: 0 ok, 1 runtime failure (cannot bind, a list cannot be read or compiled; verify: a case
failed), 2 bad command line or config.
`;
