// Package synth makes seeded synthetic user-by-item matrices with a known
// structure, for the tests and benchmarks of the models. The same arguments
// always give the same matrix.
package synth

import (
	"math"
	"math/rand/v2"

	"github.com/marquee/marquee/features"
)

// Block returns 0 for the users and items in the first half of their range
// and 1 for the rest.
func Block(i, n int) int {
	if i < n/2 {
		return 0
	}
	return 1
}

// TwoBlocks returns a users-by-items matrix of two disjoint tastes: each
// pair within a block is observed with probability density and valued 5;
// each pair across blocks is observed with probability cross and valued 1.
// Every user has at least one pair in their block.
func TwoBlocks(users, items int, density, cross float64, seed uint64) *features.CSR {
	rng := rand.New(rand.NewPCG(seed, 1))
	var entries []features.Entry
	for u := 0; u < users; u++ {
		first := len(entries)
		for i := 0; i < items; i++ {
			same := Block(u, users) == Block(i, items)
			switch {
			case same && rng.Float64() < density:
				entries = append(entries, features.Entry{Row: u, Col: i, Value: 5})
			case !same && rng.Float64() < cross:
				entries = append(entries, features.Entry{Row: u, Col: i, Value: 1})
			}
		}
		if len(entries) == first {
			i := Block(u, users)*(items/2) + rng.IntN(items/2)
			entries = append(entries, features.Entry{Row: u, Col: i, Value: 5})
		}
	}
	return mustCSR(users, items, entries)
}

// Ratings is a synthetic rating matrix drawn from a known low-rank model.
type Ratings struct {
	Train, Test *features.CSR
}

// LowRank draws ratings mu + b_u + b_i + x_u·y_i + noise, clamped to
// [0.5, 5], on each pair with probability density, with factors of the given
// rank. A tenth of the drawn pairs, chosen at random, go to Test.
func LowRank(users, items, rank int, density, noise float64, seed uint64) Ratings {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := gaussian(rng, users*rank, 0.6)
	y := gaussian(rng, items*rank, 0.6)
	bu := gaussian(rng, users, 0.3)
	bi := gaussian(rng, items, 0.5)

	var train, test []features.Entry
	for u := 0; u < users; u++ {
		for i := 0; i < items; i++ {
			if rng.Float64() >= density {
				continue
			}
			r := 3.5 + bu[u] + bi[i] + rng.NormFloat64()*noise
			for k := 0; k < rank; k++ {
				r += x[u*rank+k] * y[i*rank+k]
			}
			e := features.Entry{Row: u, Col: i, Value: math.Min(5, math.Max(0.5, r))}
			if rng.IntN(10) == 0 {
				test = append(test, e)
			} else {
				train = append(train, e)
			}
		}
	}
	return Ratings{Train: mustCSR(users, items, train), Test: mustCSR(users, items, test)}
}

// Sparse returns a users-by-items matrix with about nnz entries valued 1 to
// 5, whose item popularity falls off like a power law, as in real catalogs.
func Sparse(users, items, nnz int, seed uint64) *features.CSR {
	rng := rand.New(rand.NewPCG(seed, 3))
	entries := make([]features.Entry, nnz)
	for k := range entries {
		// Squaring a uniform draw skews item indexes toward 0.
		p := rng.Float64()
		entries[k] = features.Entry{
			Row:   rng.IntN(users),
			Col:   int(p * p * float64(items)),
			Value: float64(1 + rng.IntN(5)),
		}
	}
	return mustCSR(users, items, entries)
}

func gaussian(rng *rand.Rand, n int, sd float64) []float64 {
	out := make([]float64, n)
	for k := range out {
		out[k] = rng.NormFloat64() * sd
	}
	return out
}

// mustCSR builds a matrix and panics on an entry outside it, which the
// generators here never make.
func mustCSR(rows, cols int, entries []features.Entry) *features.CSR {
	m, err := features.NewCSR(rows, cols, entries)
	if err != nil {
		panic(err)
	}
	return m
}
