package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newDBCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Manage the store's schema"}
	cmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Apply the store's schema migrations",
		Long: `Apply every schema migration the store has not recorded yet. It is safe to
run twice and from two processes at once: applied versions are recorded, and
a Cassandra store takes a lock row while it migrates. The embedded store
migrates itself whenever it is opened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !strings.HasPrefix(g.store, "cassandra://") {
				store, err := openStore(ctx, g.store, g.log)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "schema of %s is up to date\n", g.store)
				return store.Close()
			}
			store, err := openCassandra(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := store.Migrate(ctx); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "schema is up to date")
			return nil
		},
	})
	return cmd
}
