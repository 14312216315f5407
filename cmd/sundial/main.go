// Command sundial runs the Sundial server.
//
//	sundial start [flags]   run the server (sundial start --help lists the flags)
//	sundial version         print the version
//	sundial help            print the usage
package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/sundial-io/sundial/internal/auth"
	"github.com/sundial-io/sundial/internal/server"
	"github.com/sundial-io/sundial/internal/version"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command line; it returns the exit code: 0 done, 1 the server
// failed, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "start":
		return start(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "sundial: unexpected argument %q after version\n\n", args[1])
			usage(stderr)
			return 2
		}
		fmt.Fprintf(stdout, "sundial %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "--help", "-help", "-h":
		if len(args) > 1 && args[1] != "start" {
			fmt.Fprintf(stderr, "sundial: unknown command %q\n\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "sundial: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
}

func start(args []string, stdout, stderr io.Writer) int {
	o, err := parseStart(args, os.LookupEnv)
	if err == errHelp {
		usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sundial: %v\n\n", err)
		usage(stderr)
		return 2
	}

	// The garbage collector was a fifth of the server's CPU under load at
	// Go's default GOGC=100. 200 cut server CPU per workflow by ~8% (300:
	// ~13%) for a larger heap: `make bench`'s 10,000 open workflows peak at
	// ~225 MiB RSS (300: ~290, too close to the 300 MB budget);
	// docs/PERFORMANCE.md has the figures. GOGC and GOMEMLIMIT in the
	// environment still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	// With GOGC 200 the heap may grow to three times what is live, so the
	// workflow cache alone (--cache-size, sized by an estimate of the RSS
	// each workflow costs) does not bound the process: 100,000 runs
	// recovered after a crash peaked at ~650 MiB RSS with the 256 MiB
	// default. A soft memory limit of the cache plus headroom for
	// everything else (matching, gRPC buffers, Pebble's memtables) makes
	// the collector work harder only when the process nears it. A tiny
	// cache (tests evict everything) still gets room to work in.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(max(o.cacheSize+memoryHeadroom, minMemoryLimit))
	}

	limits, ignored, err := server.ParseDynamicConfig(o.dynamicConfig)
	if err != nil {
		fmt.Fprintf(stderr, "sundial: %v\n\n", err)
		usage(stderr)
		return 2
	}

	hopts := &slog.HandlerOptions{Level: o.logLevel}
	var h slog.Handler = slog.NewTextHandler(stderr, hopts)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(h)
	if o.pprof != "" {
		go func() { log.Error("pprof server stopped", "err", http.ListenAndServe(o.pprof, nil)) }()
	}
	cfg := server.Config{
		Addr:             net.JoinHostPort(o.ip, strconv.Itoa(o.port)),
		DataDir:          o.dataDir,
		InMemory:         o.memory,
		Postgres:         o.postgres,
		Logger:           log,
		Namespaces:       o.namespaces,
		SearchAttributes: o.searchAttributes,
		Limits:           limits,
		CacheBytes:       o.cacheSize,
		UIAddr:           o.uiAddr(),
		TLS:              auth.TLSFiles{CertFile: o.tlsCert, KeyFile: o.tlsKey, ClientCAFile: o.tlsClientCA},
		UIClientCertFile: o.uiTLSClientCert,
		UIClientKeyFile:  o.uiTLSClientKey,
		Auth:             auth.Options{JWKSFile: o.authJWKS, APIKeysFile: o.authAPIKeys, Logger: log},
	}
	if o.metricsPort > 0 {
		cfg.MetricsAddr = net.JoinHostPort(o.metricsIP, strconv.Itoa(o.metricsPort))
	}
	for _, k := range ignored {
		log.Warn("dynamic config key not used by sundial; ignored", "key", k)
	}
	began := time.Now()
	if o.nodeAddr != "" {
		cfg.Cluster = &server.ClusterConfig{NodeAddr: o.nodeAddr, LeasePeriod: o.leasePeriod}
	}
	srv, err := server.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sundial: %v\n", err)
		return 1
	}
	node := srv.Node()
	where := "data dir " + srv.DataDir() + " (pebble, fsync on)"
	if o.memory {
		where = "in memory (nothing is kept after exit)"
	}
	if d := srv.StoreDescription(); d != "" {
		where = d + " (synchronous_commit on)"
	}
	if u := srv.UIURL(); u != "" {
		where += ", Web UI at " + u
	}
	if node != nil {
		where += ", " + clusterLine(node)
	}
	if u := srv.MetricsURL(); u != "" {
		fmt.Fprintf(stdout, "sundial: metrics on %s\n", u)
	}
	fmt.Fprintf(stdout, "sundial ready in %s: listening on %s, %s, %s, version %s\n", time.Since(began).Round(time.Millisecond), srv.Addr(), srv.Security(), where, version.Version)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	fmt.Fprintf(stdout, "sundial: %s received, shutting down\n", s)
	srv.Stop() // a node leaves the cluster, releasing its shards
	fmt.Fprintln(stdout, "sundial: stopped")
	return 0
}
