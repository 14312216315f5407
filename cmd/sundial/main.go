// Command sundial runs the Sundial server.
//
//	sundial start [--ip 127.0.0.1] [--port 7233] [--data-dir ./sundial-data] [--memory] [--ui-port 8233 | --headless]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/sundial-io/sundial/internal/server"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: sundial start [flags]\n\nflags:\n")
	flag.PrintDefaults()
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "start" {
		usage()
		os.Exit(2)
	}
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	ip := fs.String("ip", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 7233, "gRPC port (0 picks a free port)")
	dataDir := fs.String("data-dir", "sundial-data", "directory of the durable store")
	memory := fs.Bool("memory", false, "keep everything in memory (nothing survives a restart)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	pprofAddr := fs.String("pprof", "", "serve Go profiling endpoints on this address (e.g. 127.0.0.1:6060)")
	uiIP := fs.String("ui-ip", "", "address the Web UI listens on (default: the --ip value)")
	uiPort := fs.Int("ui-port", 0, "Web UI port (default: the --port value + 1000, so 8233)")
	headless := fs.Bool("headless", false, "do not serve the Web UI")
	fs.Usage = usage
	_ = fs.Parse(os.Args[2:])

	// The garbage collector was a fifth of the server's CPU under load at
	// Go's default GOGC=100. 200 cut server CPU per workflow by ~8% (300:
	// ~13%) for a larger heap: `make bench`'s 10,000 open workflows peak at
	// ~225 MiB RSS (300: ~290, too close to the 300 MB budget);
	// docs/PERFORMANCE.md has the figures. GOGC and GOMEMLIMIT in the
	// environment still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "sundial: bad --log-level %q\n", *logLevel)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	if *pprofAddr != "" {
		go func() { log.Error("pprof server stopped", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	began := time.Now()
	srv, err := server.Start(server.Config{
		Addr:     net.JoinHostPort(*ip, strconv.Itoa(*port)),
		DataDir:  *dataDir,
		InMemory: *memory,
		Logger:   log,
		UIAddr:   uiAddr(*headless, *ip, *uiIP, *port, *uiPort),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sundial: %v\n", err)
		os.Exit(1)
	}
	where := "data dir " + srv.DataDir() + " (pebble, fsync on)"
	if *memory {
		where = "in memory (nothing is kept after exit)"
	}
	if u := srv.UIURL(); u != "" {
		where += ", Web UI at " + u
	}
	fmt.Printf("sundial ready in %s: listening on %s, %s\n", time.Since(began).Round(time.Millisecond), srv.Addr(), where)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	fmt.Printf("sundial: %s received, shutting down\n", s)
	srv.Stop()
	fmt.Println("sundial: stopped")
}

// uiAddr is where the Web UI listens, with the dev server's defaults: the
// gRPC address's IP and its port + 1000 (a free port when --port is 0).
// Empty when --headless.
func uiAddr(headless bool, ip, uiIP string, port, uiPort int) string {
	if headless {
		return ""
	}
	if uiIP == "" {
		uiIP = ip
	}
	if uiPort == 0 && port != 0 {
		uiPort = port + 1000
	}
	return net.JoinHostPort(uiIP, strconv.Itoa(uiPort))
}
