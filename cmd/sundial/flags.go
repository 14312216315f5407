package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// startOptions are the flags of `sundial start`.
type startOptions struct {
	ip               string
	port             int
	dataDir          string
	memory           bool
	postgres         string
	nodeAddr         string
	leasePeriod      time.Duration
	logLevel         slog.Level
	logFormat        string
	pprof            string
	metricsIP        string
	metricsPort      int
	namespaces       []string
	searchAttributes map[string]enumspb.IndexedValueType
	dynamicConfig    []string
	uiIP             string
	uiPort           int
	headless         bool
	tlsCert          string
	tlsKey           string
	tlsClientCA      string
	uiTLSClientCert  string
	uiTLSClientKey   string
	authJWKS         string
	authAPIKeys      string
	cacheSize        int64
}

var errHelp = errors.New("help requested")

// envPrefix + the flag name in upper case with '-' as '_' is the
// environment variable that sets a flag (SUNDIAL_DATA_DIR for --data-dir).
const envPrefix = "SUNDIAL_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// startFlags defines the flags of `sundial start` on a new flag set
// writing into o. Usage strings put the value's placeholder in backquotes
// (flag.UnquoteUsage); defaultText is what the help shows as the default.
func startFlags(o *startOptions) (*flag.FlagSet, map[string]string) {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the errors and usage itself
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "`address` the gRPC API listens on")
	fs.IntVar(&o.port, "port", 7233, "gRPC `port` (0 picks a free one)")
	fs.StringVar(&o.dataDir, "data-dir", "sundial-data", "`directory` of the durable store (created if missing)")
	fs.BoolVar(&o.memory, "memory", false, "keep everything in memory instead of --data-dir; nothing survives a restart")
	fs.StringVar(&o.postgres, "postgres", "", "keep the store in the PostgreSQL database at this connection `URL` (postgres://user:password@host:port/db) instead of --data-dir; the schema is created or migrated at start")
	fs.StringVar(&o.nodeAddr, "node-addr", "", "with --postgres: join the cluster of nodes sharing that database, reachable by the other nodes at this `HOST:PORT` (its internal gRPC port: requests for workflows of other nodes' shards are forwarded there; docs/CLUSTER.md)")
	fs.DurationVar(&o.leasePeriod, "lease-period", 0, "with --node-addr: how long a shard lease lasts unless renewed (a crashed node's shards move to the others within about 4/3 of it); every node of a cluster should use the same `duration`")
	fs.Var(&levelFlag{&o.logLevel}, "log-level", "log `level`: debug, info, warn or error")
	fs.Var(&choiceFlag{v: &o.logFormat, choices: []string{"text", "json"}}, "log-format", "log `format`: text or json")
	fs.StringVar(&o.metricsIP, "metrics-ip", "127.0.0.1", "`address` the Prometheus metrics listen on")
	fs.IntVar(&o.metricsPort, "metrics-port", 0, "serve Prometheus metrics on this `port` at /metrics (0: off)")
	fs.Var((*listFlag)(&o.namespaces), "namespace", "create this `namespace` at start if missing (repeatable; the environment variable takes a comma-separated list)")
	fs.Var(&searchAttrFlag{&o.searchAttributes}, "search-attribute", "register the custom search attribute `NAME=TYPE` in the default namespace and every --namespace; TYPE is Text, Keyword, Int, Double, Bool, Datetime or KeywordList (repeatable; comma-separated in the environment variable)")
	fs.Var((*listFlag)(&o.dynamicConfig), "dynamic-config-value", "`KEY=VALUE`, as for `temporal server start-dev` (repeatable); honoured: limit.historyCount.{warn,error,suggestContinueAsNew} and limit.historySize.{warn,error,suggestContinueAsNew}, other keys are logged and ignored")
	fs.StringVar(&o.uiIP, "ui-ip", "", "`address` the Web UI listens on")
	fs.IntVar(&o.uiPort, "ui-port", 0, "Web UI `port`")
	fs.BoolVar(&o.headless, "headless", false, "do not serve the Web UI")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve the gRPC API over TLS with this PEM certificate `file` (with --tls-key; reloaded when it changes)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key `file` of --tls-cert (reloaded when it changes)")
	fs.StringVar(&o.tlsClientCA, "tls-client-ca", "", "require client certificates signed by a CA in this PEM `file` (mutual TLS; reloaded when it changes)")
	fs.StringVar(&o.uiTLSClientCert, "ui-tls-client-cert", "", "PEM client certificate `file` the Web UI presents to the gRPC API under mutual TLS")
	fs.StringVar(&o.uiTLSClientKey, "ui-tls-client-key", "", "PEM private key `file` of --ui-tls-client-cert")
	fs.StringVar(&o.authJWKS, "auth-jwks", "", "require bearer tokens; accept JWTs (RS256/ES256) signed by a key in this JWKS `file` (reloaded when it changes; docs/SECURITY.md)")
	fs.StringVar(&o.authAPIKeys, "auth-api-keys", "", "require bearer tokens; accept the API keys whose SHA-256 is listed in this `file`, one \"sha256hex permission...\" a line (reloaded when it changes)")
	o.cacheSize = defaultCacheSize
	fs.Var(&sizeFlag{&o.cacheSize}, "cache-size", "bound the memory of the workflows kept in memory to this `size` (e.g. 64MiB, 1GiB, or bytes); the others stay in the store and are loaded when needed")
	fs.StringVar(&o.pprof, "pprof", "", "serve Go profiling endpoints on this `host:port` (e.g. 127.0.0.1:6060)")
	o.logFormat = "text"
	defaults := map[string]string{
		"log-level": "info", "log-format": "text", "metrics-port": "off",
		"namespace": "none (only \"default\", which always exists)", "search-attribute": "none", "pprof": "off",
		"dynamic-config-value": "none", "ui-ip": "the --ip value", "ui-port": "the --port value + 1000 (8233; a free port when --port is 0)",
		"tls-cert": "none (plain text)", "tls-key": "none", "tls-client-ca": "none (no client certificate asked)",
		"ui-tls-client-cert": "none", "ui-tls-client-key": "none",
		"postgres":  "none (the store is in --data-dir)",
		"node-addr": "none (a single node)", "lease-period": "10s",
		"cache-size": "256MiB", "auth-jwks": "none", "auth-api-keys": "none (with neither this nor --auth-jwks: no authentication)",
	}
	return fs, defaults
}

// parseStart parses the arguments of `sundial start`. Every flag not given
// on the command line is taken from its environment variable when set: a
// flag wins over the environment. Stray arguments are an error (the flag
// package would stop at the first and silently ignore every flag after
// it).
func parseStart(args []string, lookupEnv func(string) (string, bool)) (*startOptions, error) {
	o := &startOptions{}
	fs, _ := startFlags(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		// The flag package names flags with one dash; ours are shown with two.
		msg := strings.Replace(strings.Replace(err.Error(), "flag -", "flag --", 1), ": -", ": --", 1)
		return nil, errors.New(msg)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with --; see the usage below)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || envErr != nil {
			return
		}
		v, ok := lookupEnv(envName(f.Name))
		if !ok {
			return
		}
		given[f.Name] = true
		if lf, ok := f.Value.(interface{ setAll(string) error }); ok {
			if err := lf.setAll(v); err != nil {
				envErr = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), err)
			}
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), err)
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if o.port < 0 || o.port > 65535 {
		return nil, fmt.Errorf("--port %d is not a port (0-65535)", o.port)
	}
	if o.uiPort < 0 || o.uiPort > 65535 {
		return nil, fmt.Errorf("--ui-port %d is not a port (0-65535)", o.uiPort)
	}
	if o.uiPort == 0 && o.port > 65535-1000 {
		return nil, fmt.Errorf("--port %d leaves no default Web UI port (port + 1000): set --ui-port or --headless", o.port)
	}
	if o.metricsPort < 0 || o.metricsPort > 65535 {
		return nil, fmt.Errorf("--metrics-port %d is not a port (0-65535; 0 turns metrics off)", o.metricsPort)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if o.tlsClientCA != "" && o.tlsCert == "" {
		return nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	}
	if (o.uiTLSClientCert == "") != (o.uiTLSClientKey == "") {
		return nil, errors.New("--ui-tls-client-cert and --ui-tls-client-key go together")
	}
	if o.postgres != "" && (o.memory || given["data-dir"]) {
		flag := "--memory"
		if given["data-dir"] {
			flag = "--data-dir"
		}
		return nil, fmt.Errorf("--postgres and %s cannot be used together: the store is either in PostgreSQL or local", flag)
	}
	if err := checkNodeAddr(o); err != nil {
		return nil, err
	}
	if o.dataDir == "" && !o.memory && o.postgres == "" {
		return nil, errors.New("--data-dir is empty (use --memory for a store in memory)")
	}
	return o, nil
}

// usage prints the commands and every flag of start with its default and
// environment variable.
func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  sundial start [flags]   run the server
  sundial version         print the version
  sundial help            print this help

flags of start (each can also be set with the environment variable in brackets; a flag on the
command line wins over the environment):
`)
	fs, defaults := startFlags(&startOptions{})
	fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if name != "" {
			head += " " + name
		}
		def, ok := defaults[f.Name]
		if !ok {
			def = f.DefValue
		}
		fmt.Fprintf(w, "%s\n        %s\n        (default %s) [%s]\n", head, text, def, envName(f.Name))
	})
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty value")
	}
	*l = append(*l, strings.TrimSpace(v))
	return nil
}

// setAll sets the list from an environment variable: comma-separated.
func (l *listFlag) setAll(v string) error {
	for _, s := range strings.Split(v, ",") {
		if err := l.Set(s); err != nil {
			return err
		}
	}
	return nil
}

// searchAttrFlag is the repeatable --search-attribute NAME=TYPE.
type searchAttrFlag struct {
	m *map[string]enumspb.IndexedValueType
}

func (s *searchAttrFlag) String() string {
	if s.m == nil || *s.m == nil {
		return ""
	}
	var out []string
	for k, v := range *s.m {
		out = append(out, k+"="+v.String())
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (s *searchAttrFlag) Set(v string) error {
	name, typ, ok := strings.Cut(strings.TrimSpace(v), "=")
	name, typ = strings.TrimSpace(name), strings.TrimSpace(typ)
	if !ok || name == "" || typ == "" {
		return fmt.Errorf("%q is not NAME=TYPE", v)
	}
	t, err := attributeType(typ)
	if err != nil {
		return err
	}
	if *s.m == nil {
		*s.m = map[string]enumspb.IndexedValueType{}
	}
	if old, ok := (*s.m)[name]; ok && old != t {
		return fmt.Errorf("search attribute %s given twice with different types", name)
	}
	(*s.m)[name] = t
	return nil
}

func (s *searchAttrFlag) setAll(v string) error {
	for _, part := range strings.Split(v, ",") {
		if err := s.Set(part); err != nil {
			return err
		}
	}
	return nil
}

// attributeType reads a search attribute type as the dev server and
// `temporal operator search-attribute create --type` take it, in any case:
// Text, Keyword, Int, Double, Bool, Datetime, KeywordList.
func attributeType(s string) (enumspb.IndexedValueType, error) {
	want := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	for v, name := range enumspb.IndexedValueType_name {
		t := enumspb.IndexedValueType(v)
		if t == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			continue
		}
		n := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "INDEXED_VALUE_TYPE_"), "_", ""))
		if n == want {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown search attribute type %q (Text, Keyword, Int, Double, Bool, Datetime or KeywordList)", s)
}

// levelFlag is --log-level.
type levelFlag struct{ l *slog.Level }

func (f *levelFlag) String() string {
	if f.l == nil {
		return "info"
	}
	return strings.ToLower(f.l.String())
}

func (f *levelFlag) Set(v string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		return errors.New("not one of debug, info, warn, error")
	}
	*f.l = l
	return nil
}

// choiceFlag is a string flag with a fixed set of values.
type choiceFlag struct {
	v       *string
	choices []string
}

func (f *choiceFlag) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}

func (f *choiceFlag) Set(v string) error {
	for _, c := range f.choices {
		if v == c {
			*f.v = v
			return nil
		}
	}
	return fmt.Errorf("not one of %s", strings.Join(f.choices, ", "))
}

// uiAddr is where the Web UI listens, with the dev server's defaults: the
// gRPC address's IP and its port + 1000 (a free port when --port is 0).
// Empty when --headless.
func (o *startOptions) uiAddr() string {
	if o.headless {
		return ""
	}
	ip, port := o.uiIP, o.uiPort
	if ip == "" {
		ip = o.ip
	}
	if port == 0 && o.port != 0 {
		port = o.port + 1000
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}
