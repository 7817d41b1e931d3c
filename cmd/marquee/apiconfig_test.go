package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/marquee/marquee/api"
)

func TestSigningSecret(t *testing.T) {
	good := strings.Repeat("s", 40)
	tests := []struct {
		name    string
		env     string
		file    string
		dev     bool
		wantErr string
		wantLen int
	}{
		{name: "none", wantErr: "no access token signing secret"},
		{name: "short in the environment", env: "short-secret", wantErr: "is 12 bytes"},
		{name: "from the environment", env: good, wantLen: 40},
		{name: "from a file, without its newline", file: good + "\n", wantLen: 40},
		{name: "short in a file", file: "tiny\n", wantErr: "is 4 bytes"},
		{name: "environment wins over the dev flag", env: good, dev: true, wantLen: 40},
		{name: "ephemeral for development", dev: true, wantLen: 52},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(secretEnv, tc.env)
			f := apiFlags{devSecret: tc.dev, limitAddress: "20/3s", limitAccount: "5/20s"}
			if tc.file != "" {
				f.secretFile = filepath.Join(t.TempDir(), "secret")
				if err := os.WriteFile(f.secretFile, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			cfg, err := f.config(slog.New(slog.NewTextHandler(&logs, nil)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("config: error %v, want one with %q", err, tc.wantErr)
				}
				if tc.env != "" && strings.Contains(err.Error(), tc.env) || strings.Contains(err.Error(), "tiny") {
					t.Errorf("the error holds the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			if got := len(cfg.Auth.Secret); got != tc.wantLen {
				t.Errorf("secret of %d bytes, want %d", got, tc.wantLen)
			}
			if strings.Contains(logs.String(), string(cfg.Auth.Secret)) {
				t.Errorf("the log holds the secret: %s", logs.String())
			}
			if tc.dev && tc.env == "" && !strings.Contains(logs.String(), "ephemeral") {
				t.Errorf("no warning logged for the ephemeral secret: %q", logs.String())
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	got, err := parseRate("--limit", "20/3s")
	if err != nil || got != (api.Rate{Burst: 20, Every: 3 * time.Second}) {
		t.Errorf("parseRate(20/3s) = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "20", "0/1s", "x/1s", "5/0s", "5/-1s", "5/soon"} {
		if _, err := parseRate("--limit", bad); err == nil {
			t.Errorf("parseRate(%q): no error", bad)
		}
	}
}

// TestPublicUserRecommendationsFlag checks that users' lists by ID need a
// token unless --public-user-recommendations or its environment variable
// opens them.
func TestPublicUserRecommendationsFlag(t *testing.T) {
	t.Setenv(secretEnv, strings.Repeat("s", 40))
	tests := []struct {
		name string
		args []string
		env  string
		want bool
	}{
		{"default", nil, "", false},
		{"flag", []string{"--public-user-recommendations"}, "", true},
		{"environment", nil, "true", true},
		{"flag wins over the environment", []string{"--public-user-recommendations=false"}, "true", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("MARQUEE_PUBLIC_USER_RECOMMENDATIONS", tc.env)
			}
			var f apiFlags
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if _, err := applyEnv(fs); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config(slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PublicUserRecommendations != tc.want {
				t.Errorf("PublicUserRecommendations %v, want %v", cfg.PublicUserRecommendations, tc.want)
			}
		})
	}
}
