package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/api"
	"github.com/marquee/marquee/serving"
)

func newServeCommand(g *globals) *cobra.Command {
	var addr string
	var shutdown time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()
			lists, err := openLists(ctx, g.cache)
			if err != nil {
				return err
			}
			defer lists.Close()

			svc := serving.New(lists, store, store, g.log.With("subsystem", "serving"))
			handler := api.New(api.Config{}, svc, g.log.With("subsystem", "api"))
			srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}

			errc := make(chan error, 1)
			go func() { errc <- srv.ListenAndServe() }()
			g.log.Info("serving", "addr", addr)
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
	return cmd
}
