// Package password hashes, verifies and validates user passwords.
//
// Hashes are argon2id in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so each hash carries the
// parameters it was made with. Raising the cost later needs no migration:
// old hashes still verify, and NeedsRehash tells the caller to store a new
// hash after the next successful login.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB of memory per hash
	Time    uint32 // passes over that memory
	Threads uint8  // lanes computed in parallel
}

// Salt and key sizes of new hashes; RFC 9106 recommends 16 and 32 bytes.
const (
	saltLen = 16
	keyLen  = 32
)

// Bounds for parameters read from a stored hash: below them argon2 is
// undefined, above them a corrupted row could tie up a login for minutes.
const (
	minSaltLen, maxSaltLen = 8, 64
	minKeyLen, maxKeyLen   = 16, 64
	maxMemory              = 1 << 20 // 1 GiB
	maxTime                = 64
)

// ErrMalformedHash is wrapped by the errors Verify returns for a stored hash
// it cannot parse. It is uncoded: a bad stored hash is an internal error,
// not the user's.
var ErrMalformedHash = errors.New("malformed password hash")

// DefaultParams returns the parameters Hash uses and NeedsRehash compares
// against: 64 MiB, 3 passes, 2 lanes (the RFC 9106 memory size). One hash
// takes about 60–75 ms on the idle 2-core build machine and up to about
// 150 ms when it is busy (BenchmarkHash): costly for a guesser, fast enough
// for a login. Each hash in flight holds 64 MiB, so rate-limit logins before
// they get here.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 2}
}

// Hasher hashes and verifies passwords with one set of parameters. The zero
// Hasher uses DefaultParams; tests set cheap Params.
type Hasher struct {
	Params Params
}

// Hash returns the PHC-encoded argon2id hash of plain with a random salt.
func (h Hasher) Hash(plain string) (string, error) {
	p := h.params()
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(plain), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encode(p, salt, key), nil
}

// Verify reports whether plain matches encoded, using the parameters stored
// in encoded. It returns an error wrapping ErrMalformedHash when encoded
// cannot be parsed; a wrong password is false with a nil error.
func (h Hasher) Verify(plain, encoded string) (bool, error) {
	d, err := decode(encoded)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	p := d.params
	key := argon2.IDKey([]byte(plain), d.salt, p.Time, p.Memory, p.Threads, uint32(len(d.key)))
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters or
// sizes than h would use now, or cannot be parsed. Call it after a
// successful Verify and store a fresh Hash of the password when it is true.
func (h Hasher) NeedsRehash(encoded string) bool {
	d, err := decode(encoded)
	if err != nil {
		return true
	}
	return d.params != h.params() || len(d.salt) != saltLen || len(d.key) != keyLen
}

// VerifyDummy costs as much as Verify against a hash made by h, and always
// fails. Call it when a login names an unknown account, so that the response
// time does not tell an attacker which accounts exist.
func (h Hasher) VerifyDummy(plain string) {
	_, _ = h.Verify(plain, h.dummyHash())
}

// dummyHash encodes h's parameters with an all-zero salt and key. It takes
// the same path through Verify as a real hash, and no password matches it
// except with the odds of a hash collision.
func (h Hasher) dummyHash() string {
	return encode(h.params(), make([]byte, saltLen), make([]byte, keyLen))
}

func (h Hasher) params() Params {
	if h.Params == (Params{}) {
		return DefaultParams()
	}
	return h.Params
}

// Hash returns the hash of plain with DefaultParams. See Hasher.Hash.
func Hash(plain string) (string, error) { return Hasher{}.Hash(plain) }

// Verify reports whether plain matches encoded. See Hasher.Verify.
func Verify(plain, encoded string) (bool, error) { return Hasher{}.Verify(plain, encoded) }

// NeedsRehash reports whether encoded differs from DefaultParams. See
// Hasher.NeedsRehash.
func NeedsRehash(encoded string) bool { return Hasher{}.NeedsRehash(encoded) }

// VerifyDummy costs as much as verifying a hash made with DefaultParams. See
// Hasher.VerifyDummy.
func VerifyDummy(plain string) { Hasher{}.VerifyDummy(plain) }

func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id time %d out of range [1, %d]", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("argon2id needs at least one thread")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory %d KiB out of range [%d, %d]", p.Memory, 8*uint32(p.Threads), maxMemory)
	}
	return nil
}

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type decoded struct {
	params    Params
	salt, key []byte
}

func decode(encoded string) (decoded, error) {
	var d decoded
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return d, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return d, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var err error
	if d.params, err = parseParams(parts[3]); err != nil {
		return d, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	if d.salt, err = decodeField(parts[4], minSaltLen, maxSaltLen); err != nil {
		return d, fmt.Errorf("%w: salt: %w", ErrMalformedHash, err)
	}
	if d.key, err = decodeField(parts[5], minKeyLen, maxKeyLen); err != nil {
		return d, fmt.Errorf("%w: hash: %w", ErrMalformedHash, err)
	}
	return d, nil
}

// parseParams parses "m=…,t=…,p=…", the order the PHC format fixes.
func parseParams(s string) (Params, error) {
	var p Params
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return p, fmt.Errorf("parameters %q: want m, t and p", s)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		k, v, _ := strings.Cut(fields[i], "=")
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if k != name || err != nil {
			return p, fmt.Errorf("parameters %q: bad %s", s, name)
		}
		vals[i] = n
	}
	p = Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	return p, p.validate()
}

func decodeField(s string, minLen, maxLen int) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, fmt.Errorf("%d bytes, want %d to %d", len(b), minLen, maxLen)
	}
	return b, nil
}
