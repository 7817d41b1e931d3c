package synth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/marquee/marquee/data"
)

// ratingKey identifies a rating event the way the Events port does: one user,
// one title, one millisecond.
type ratingKey struct {
	userID, contentID string
	unixMilli         int64
}

// watchKey identifies a watch event: its ID is unique per user.
type watchKey struct {
	userID, id string
}

// fakeStore keeps what the generator writes in maps and follows the contract
// of the bulk writes: each is idempotent, a batch with an invalid record or a
// taken e-mail writes nothing. failCall makes the n-th write call (1-based)
// fail with failErr.
type fakeStore struct {
	mu       sync.Mutex
	titles   map[string]data.Title
	users    map[string]data.User
	ratings  map[ratingKey]data.Rating
	watches  map[watchKey]data.WatchEvent
	calls    int
	failCall int
	failErr  error
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		titles:  make(map[string]data.Title),
		users:   make(map[string]data.User),
		ratings: make(map[ratingKey]data.Rating),
		watches: make(map[watchKey]data.WatchEvent),
	}
}

// call counts a write call and returns the injected failure, if it is due.
func (s *fakeStore) call(ctx context.Context) error {
	s.calls++
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.calls == s.failCall {
		return s.failErr
	}
	return nil
}

func (s *fakeStore) PutTitles(ctx context.Context, titles []data.Title) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(ctx); err != nil {
		return err
	}
	for _, t := range titles {
		if t.ID == "" {
			return fmt.Errorf("%w: title id is empty", data.ErrInvalid)
		}
	}
	for _, t := range titles {
		t.Genres = slices.Clone(t.Genres)
		s.titles[t.ID] = t
	}
	return nil
}

func (s *fakeStore) PutUsers(ctx context.Context, users []data.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(ctx); err != nil {
		return err
	}
	if err := s.checkUsers(users); err != nil {
		return err
	}
	for _, u := range users {
		u.PreferredGenres = slices.Clone(u.PreferredGenres)
		u.PreferredTypes = slices.Clone(u.PreferredTypes)
		s.users[u.ID] = u
	}
	return nil
}

// checkUsers rejects a batch with an empty ID or an e-mail held by another
// user, in the store or earlier in the batch.
func (s *fakeStore) checkUsers(users []data.User) error {
	owner := make(map[string]string)
	for id, u := range s.users {
		if u.Email != "" {
			owner[strings.ToLower(u.Email)] = id
		}
	}
	for _, u := range users {
		if u.ID == "" {
			return fmt.Errorf("%w: user id is empty", data.ErrInvalid)
		}
		if u.Email == "" {
			continue
		}
		email := strings.ToLower(u.Email)
		if id, ok := owner[email]; ok && id != u.ID {
			return fmt.Errorf("%w: e-mail %s belongs to user %s", data.ErrConflict, u.Email, id)
		}
		owner[email] = u.ID
	}
	return nil
}

func (s *fakeStore) PutRatings(ctx context.Context, ratings []data.Rating) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(ctx); err != nil {
		return err
	}
	for _, r := range ratings {
		if err := data.ValidateRating(r); err != nil {
			return err
		}
	}
	for _, r := range ratings {
		r.Time = data.Normalize(r.Time)
		s.ratings[ratingKey{r.UserID, r.ContentID, r.Time.UnixMilli()}] = r
	}
	return nil
}

func (s *fakeStore) AppendWatches(ctx context.Context, events []data.WatchEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(ctx); err != nil {
		return err
	}
	for _, w := range events {
		if err := data.ValidateWatch(w); err != nil {
			return err
		}
	}
	for _, w := range events {
		key := watchKey{w.UserID, w.ID}
		if _, ok := s.watches[key]; ok {
			continue
		}
		w.Time = data.Normalize(w.Time)
		s.watches[key] = w
	}
	return nil
}
