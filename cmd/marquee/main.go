// Command marquee is Marquee's one binary: it imports data, runs the batch
// pipeline, serves the HTTP API and schedules retraining, each as a
// subcommand. It only parses flags and configuration and wires adapters
// together; the work happens in the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	// The IANA time zone database, so that --timezone works in images
	// without one, such as distroless.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "marquee:", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}
