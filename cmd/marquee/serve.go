package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/marquee/marquee/api"
	"github.com/marquee/marquee/data"
)

func newServeCommand(g *globals) *cobra.Command {
	var addr string
	var shutdown time.Duration
	var flags apiFlags
	var sflags servingFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API",
		Long: `Serve the HTTP API. Access tokens are signed with the secret in the
environment variable ` + secretEnv + ` or the file of --jwt-secret-file, at
least 32 bytes; without one, serve refuses to start unless
--dev-ephemeral-secret is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := flags.config(g.log)
			if err != nil {
				return err
			}
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()
			svc, closeServing, err := sflags.openServing(ctx, g.cache, store, g.log)
			if err != nil {
				return err
			}
			defer closeServing()

			if err := wireAccounts(&cfg, store); err != nil {
				return err
			}
			cfg.Metrics = prometheus.NewRegistry()
			cfg.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			if err := cfg.Validate(); err != nil {
				return err
			}

			cfg.Interactions = interactions{svc: svc, events: store, now: time.Now}
			if cfg.PublicUserRecommendations {
				g.log.Warn("serving users' recommendations by user ID to any caller without a token " +
					"(--public-user-recommendations): put the server behind a network boundary that only trusted callers cross")
			}
			handler := api.New(cfg, svc, g.log.With("subsystem", "api"))
			// NOTE: net/http responds to a request it cannot parse before
			// any handler runs. Headers over MaxHeaderBytes get 431, a
			// malformed request line or header 400 and an unknown transfer
			// coding 501, each as text/plain, not as a problem body.
			// http.Server has no hook to write those responses.
			srv := &http.Server{
				Addr: addr, Handler: handler,
				ReadHeaderTimeout: 5 * time.Second,
				ReadTimeout:       cfg.RequestTimeout + 5*time.Second,
				WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
			}

			// Listening before the log line makes a port in use or a bad
			// --addr fail here, before anything says the server is up.
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on --addr %q: %w", addr, err)
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			g.log.Info("serving", "addr", ln.Addr().String())
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			g.log.Info("shutting down", "timeout", shutdown)
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdown)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", ":8080", "address to listen on, host:port")
	cmd.Flags().DurationVar(&shutdown, "shutdown-timeout", 10*time.Second, "time to finish requests in flight on SIGINT or SIGTERM")
	flags.register(cmd.Flags())
	sflags.register(cmd.Flags())
	return cmd
}

// wireAccounts sets the store, the session store and the eraser of cfg. The
// embedded store is all three; a store that keeps no sessions cannot serve
// accounts yet.
func wireAccounts(cfg *api.Config, store data.Store) error {
	sessions, ok := store.(data.Sessions)
	if !ok {
		return fmt.Errorf("the store %T keeps no sign-in sessions, so it cannot serve accounts", store)
	}
	cfg.Store, cfg.Sessions = store, sessions
	if eraser, ok := store.(data.EventEraser); ok {
		cfg.Eraser = eraser
	}
	return nil
}
