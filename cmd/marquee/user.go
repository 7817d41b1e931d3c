package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/marquee/marquee/api"
	"github.com/marquee/marquee/data"
)

func newUserCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage accounts of the HTTP API from the command line"}
	cmd.AddCommand(newUserCreateCommand(g), newUserSetRoleCommand(g))
	return cmd
}

func newUserCreateCommand(g *globals) *cobra.Command {
	var email, name, role string
	cmd := &cobra.Command{
		Use:   "create --email EMAIL --name NAME [--role admin] < password",
		Short: "Create an account, reading its password from the first line of standard input",
		Long: `Create an account, such as the first admin. The password is read from the
first line of standard input, so it stays out of the shell history and the
process list:

  printf '%s\n' "$ADMIN_PASSWORD" | marquee user create --email admin@example.com --name Admin --role admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()
			u, err := api.CreateAccount(ctx, store, api.PasswordParams{}, email, name, password, data.Role(role), time.Now())
			if errors.Is(err, data.ErrConflict) {
				return fmt.Errorf("e-mail %s is already registered: choose another, or change the account's role with marquee user set-role", email)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s account %s for %s\n", u.Role, u.ID, u.Email)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail of the account")
	cmd.Flags().StringVar(&name, "name", "", "name of the account")
	cmd.Flags().StringVar(&role, "role", string(data.RoleUser), "role: user or admin")
	return cmd
}

func newUserSetRoleCommand(g *globals) *cobra.Command {
	var email, role string
	cmd := &cobra.Command{
		Use:   "set-role --email EMAIL --role user|admin",
		Short: "Change an account's role and end its sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := openStore(ctx, g.store, g.log)
			if err != nil {
				return err
			}
			defer store.Close()
			sessions, ok := store.(data.Sessions)
			if !ok {
				return fmt.Errorf("the store %T keeps no sign-in sessions", store)
			}
			u, err := api.SetRole(ctx, store, sessions, email, data.Role(role), time.Now())
			if errors.Is(err, data.ErrNotFound) {
				return fmt.Errorf("no account has the e-mail %s", email)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s; their sessions ended\n", u.Email, u.Role)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail of the account")
	cmd.Flags().StringVar(&role, "role", "", "new role: user or admin")
	return cmd
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input: pipe it in, one line")
	}
	return line, nil
}
