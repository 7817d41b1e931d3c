package synth

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Streams of random numbers. Each part of the dataset draws from its own
// stream, so that, for example, changing the number of users leaves the
// catalog unchanged, and each user's events do not depend on the users
// generated before.
const (
	streamGenres uint64 = iota + 1
	streamTitles
	streamUsers
	streamEvents // + user index
)

// rng draws numbers from math/rand/v2's PCG generator, a specified
// algorithm (PCG-DXSM), and derives floats, integers and normal variates
// itself. math/rand/v2 documents no stability for its derived methods, and
// this keeps a seed's dataset the same across Go releases.
type rng struct {
	src *rand.PCG
}

// newRNG returns the generator of one stream. The seed and the stream are
// mixed by splitmix64 first, because PCG states that differ in a few low
// bits give correlated first outputs.
func newRNG(seed, stream uint64) rng {
	hi := splitmix64(seed ^ splitmix64(stream))
	lo := splitmix64(hi ^ stream)
	return rng{src: rand.NewPCG(hi, lo)}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// float returns a uniform number in [0, 1).
func (r rng) float() float64 {
	return float64(r.src.Uint64()>>11) / (1 << 53)
}

// openFloat returns a uniform number in (0, 1), safe to take the log of.
func (r rng) openFloat() float64 {
	return (float64(r.src.Uint64()>>11) + 0.5) / (1 << 53)
}

// intN returns a uniform integer in [0, n) for n > 0. Its bias, below n/2^64,
// does not matter here.
func (r rng) intN(n int) int {
	hi, _ := bits.Mul64(r.src.Uint64(), uint64(n))
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r rng) between(lo, hi int) int {
	return lo + r.intN(hi-lo+1)
}

// normal returns a standard normal variate (Box-Muller).
func (r rng) normal() float64 {
	u, v := r.openFloat(), r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// gumbel returns a standard Gumbel variate. Adding an independent one to
// the log weight of each item and keeping the k largest sums samples k
// items without replacement, in proportion to their weights.
func (r rng) gumbel() float64 {
	return -math.Log(-math.Log(r.openFloat()))
}

// pick returns element i of items with probability proportional to weights[i].
func (r rng) pick(weights []float64, total float64) int {
	x := r.float() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
