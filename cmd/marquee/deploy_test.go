package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestKubernetesManifests reads the manifests under deploy/kubernetes and
// checks what this machine can check without a cluster: the retraining
// CronJob forbids concurrent runs and never restarts a failed one, and the
// arguments and MARQUEE_* variables of every container are flags that the
// current marquee binary accepts.
func TestKubernetesManifests(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("manifests: %v, %v; want some", paths, err)
	}
	var cronJobs, containers int
	for _, path := range paths {
		for _, doc := range readManifests(t, path) {
			kind, _ := doc["kind"].(string)
			spec := mapAt(doc, "spec")
			if kind == "CronJob" {
				cronJobs++
				if got := spec["concurrencyPolicy"]; got != "Forbid" {
					t.Errorf("%s: CronJob concurrencyPolicy = %v, want Forbid", path, got)
				}
				pod := mapAt(mapAt(mapAt(spec, "jobTemplate"), "spec"), "template")
				if got := mapAt(pod, "spec")["restartPolicy"]; got != "Never" {
					t.Errorf("%s: CronJob restartPolicy = %v, want Never", path, got)
				}
				spec = mapAt(mapAt(spec, "jobTemplate"), "spec")
			}
			podSpec := mapAt(mapAt(spec, "template"), "spec")
			list, _ := podSpec["containers"].([]any)
			for _, c := range list {
				container, _ := c.(map[string]any)
				containers++
				checkContainer(t, path, container)
			}
		}
	}
	if cronJobs != 1 || containers < 2 {
		t.Errorf("found %d CronJobs and %d containers, want 1 CronJob and the scheduler Deployment's container too", cronJobs, containers)
	}
}

// checkContainer checks that marquee parses the container's arguments and
// knows the flag of each MARQUEE_* variable.
func checkContainer(t *testing.T, path string, container map[string]any) {
	t.Helper()
	var args []string
	raw, _ := container["args"].([]any)
	for _, a := range raw {
		args = append(args, a.(string))
	}
	root := newRootCommand()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Errorf("%s: container %v: args %q name no marquee command: %v", path, container["name"], args, err)
		return
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%s: container %v: marquee %s rejects its flags: %v", path, container["name"], strings.Join(args, " "), err)
	}
	env, _ := container["env"].([]any)
	for _, e := range env {
		name, _ := e.(map[string]any)["name"].(string)
		flag, ok := strings.CutPrefix(name, "MARQUEE_")
		if !ok {
			continue
		}
		flag = strings.ReplaceAll(strings.ToLower(flag), "_", "-")
		if cmd.Flags().Lookup(flag) == nil && root.PersistentFlags().Lookup(flag) == nil {
			t.Errorf("%s: container %v: %s sets --%s, which marquee %s does not have", path, container["name"], name, flag, cmd.Name())
		}
	}
}

func readManifests(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// mapAt returns the mapping under key, or nil.
func mapAt(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}
