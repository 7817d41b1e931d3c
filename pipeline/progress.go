package pipeline

import (
	"log/slog"
	"sync"
	"time"
)

// progress logs how far a long step has come, at most once a second, so a
// long stage is visibly alive without flooding the log.
type progress struct {
	log   *slog.Logger
	msg   string
	total int

	mu   sync.Mutex
	done int
	last time.Time
}

func newProgress(log *slog.Logger, msg string, total int) *progress {
	return &progress{log: log, msg: msg, total: total, last: time.Now()}
}

// Add records n more finished units, safe for concurrent use.
func (p *progress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if time.Since(p.last) >= time.Second {
		p.last = time.Now()
		p.log.Info(p.msg, "done", p.done, "total", p.total)
	}
}
