package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id hashes are stored in the PHC string format that the reference
// implementation and most libraries read:
//
//	$argon2id$v=19$m=65536,t=1,p=2$<salt>$<key>
//
// with the salt and key in unpadded standard base64.
const (
	saltBytes = 16
	keyBytes  = 32
	// maxStoredMemoryKiB bounds the memory a stored hash may ask for, so a
	// corrupted or planted hash cannot make a sign-in allocate without end.
	maxStoredMemoryKiB = 4 << 20 // 4 GiB
)

var b64 = base64.RawStdEncoding

// errMalformedHash means a stored password hash cannot be read.
var errMalformedHash = errors.New("malformed argon2id hash")

// passwords hashes and checks passwords with argon2id. At most
// Concurrency hashes run at once; the others wait for their turn or their
// context. It is safe for concurrent use.
type passwords struct {
	params PasswordParams
	slots  chan struct{}
	// dummy is a hash of a random password with the current parameters,
	// checked when an e-mail has no account, so that such a sign-in takes
	// as long as one with a wrong password.
	dummy string
}

func newPasswords(p PasswordParams) (*passwords, error) {
	pw := &passwords{params: p, slots: make(chan struct{}, p.Concurrency)}
	dummy, err := pw.hash(context.Background(), rand.Text())
	if err != nil {
		return nil, err
	}
	pw.dummy = dummy
	return pw, nil
}

// acquire waits for a free hashing slot.
func (pw *passwords) acquire(ctx context.Context) error {
	select {
	case pw.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (pw *passwords) release() { <-pw.slots }

// hash returns the encoded argon2id hash of password with a new random salt.
func (pw *passwords) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltBytes)
	rand.Read(salt)
	if err := pw.acquire(ctx); err != nil {
		return "", err
	}
	p := pw.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyBytes)
	pw.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the encoded hash, comparing in
// constant time. An empty encoded hash, as imported accounts have, matches
// no password but costs the same work as one that does not match. stale is
// true when the hash was made with other parameters than the current ones.
func (pw *passwords) verify(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	known := encoded != ""
	if !known {
		encoded = pw.dummy
	}
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}

	if err := pw.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	pw.release()

	match := subtle.ConstantTimeCompare(got, want) == 1
	stale = p.MemoryKiB != pw.params.MemoryKiB || p.Time != pw.params.Time || p.Threads != pw.params.Threads
	return match && known, stale, nil
}

// checkDummy runs one verification against the dummy hash and discards the
// result, to spend the time a real check would.
func (pw *passwords) checkDummy(ctx context.Context, password string) error {
	_, _, err := pw.verify(ctx, "", password)
	return err
}

// decodeHash parses an encoded argon2id hash.
func decodeHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %q", errMalformedHash, parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", errMalformedHash, parts[3])
	}
	if p.Time < 1 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxStoredMemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", errMalformedHash, parts[3])
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", errMalformedHash)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("%w: key", errMalformedHash)
	}
	return p, salt, key, nil
}
