package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// FileLock is the Lock of schedulers on one machine: an exclusive flock(2)
// on a file, WORKDIR/scheduler.lock by convention. The kernel releases it
// when its holder exits, killed or not, so it cannot outlive a dead holder,
// and it cannot be lost while the holder lives, so its leases never report
// Lost. The file also holds the last fencing token and the last scheduled
// time taken, which are read and written only under the lock.
//
// NOTE: flock(2) over NFS and other network file systems is not reliable
// everywhere; replicas on several machines share the Redis lock instead.
type FileLock struct {
	Path string
}

// lockState is the content of the lock file.
type lockState struct {
	Fence int64     `json:"fence"`
	Tick  time.Time `json:"tick,omitzero"`
}

// Acquire takes the lock without waiting. See Lock.
func (l FileLock) Acquire(ctx context.Context, tick time.Time) (Lease, error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
		return nil, fmt.Errorf("acquire %s: %w", l.Path, err)
	}
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("acquire %s: %w", l.Path, err)
	}
	lease, err := take(f, tick)
	if err != nil {
		f.Close() // closing the file also drops a flock taken on it
		return nil, fmt.Errorf("acquire %s: %w", l.Path, err)
	}
	return lease, nil
}

// take locks f, checks and records tick and draws a fencing token.
func take(f *os.File, tick time.Time) (*fileLease, error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}

	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var st lockState
	if len(b) > 0 {
		// A torn write leaves an unreadable file. Starting the count again
		// is safe, because no other process holds a token of this lock now.
		_ = json.Unmarshal(b, &st)
	}
	if !tick.IsZero() && !tick.After(st.Tick) {
		return nil, fmt.Errorf("%w: %s", ErrTickTaken, tick.Format(time.RFC3339))
	}

	st.Fence++
	if !tick.IsZero() {
		st.Tick = tick.UTC()
	}
	out, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(append(out, '\n'), 0); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return &fileLease{f: f, token: st.Fence, lost: make(chan struct{})}, nil
}

// fileLease is a held FileLock.
type fileLease struct {
	f     *os.File
	token int64
	lost  chan struct{} // never closed: the kernel keeps the lock while the process lives
	once  sync.Once
}

func (l *fileLease) Token() int64          { return l.token }
func (l *fileLease) Lost() <-chan struct{} { return l.lost }

// Release unlocks and closes the lock file.
func (l *fileLease) Release(context.Context) error {
	var err error
	l.once.Do(func() {
		err = errors.Join(unix.Flock(int(l.f.Fd()), unix.LOCK_UN), l.f.Close())
		if err != nil {
			err = fmt.Errorf("release %s: %w", l.f.Name(), err)
		}
	})
	return err
}
