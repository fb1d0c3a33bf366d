// Command patchbay runs the Patchbay voice switch: SIP on UDP and TCP, the
// Restcomm-compatible REST API, RCML applications and Live Call Modification,
// with state in an embedded Badger database.
//
// Every flag has a PATCHBAY_* environment equivalent; flags win.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/patchbay/patchbay/switch/server"
)

func main() {
	cfg, err := server.ParseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "patchbay:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg, log, os.Stdout); err != nil {
		log.Error("patchbay stopped", "err", err)
		os.Exit(1)
	}
}
