export const USAGE = `Usage: roje <command> [options]

Commands:
  serve [--config FILE] [--listen HOST:PORT]... [--upstream URL]...
        Run the resolver. With no options: loopback, port 5353, the upstreams of /etc/resolv.conf.
        --listen and --upstream replace the config file's lists and may be repeated.
  check-config FILE
        Validate a config file and print a summary; exit code 2 when it is not valid.
  version
        Print roje's version.
  help
        Print this help.

Upstream URLs: udp://IP[:53]  tcp://IP[:53]  tls://IP[:853]#SERVERNAME  https://HOST[:443]/dns-query
Signals (serve): SIGTERM/SIGINT finish in-flight queries and exit; SIGHUP reloads the config file.
Exit codes: 0 ok, 1 runtime failure (e.g. cannot bind), 2 bad command line or config.
`;
