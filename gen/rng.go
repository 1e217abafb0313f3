package gen

import (
	"math"
	"math/bits"
)

// rng is a small, fast, allocation-free generator (SplitMix64). Every slice of
// time and every planned activity gets its own, seeded from the run's seed and
// its own identity, so output never depends on which worker ran what.
type rng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// seeded returns a generator for the given identity parts.
func seeded(parts ...uint64) rng {
	h := uint64(0x6a09e667f3bcc909)
	for _, p := range parts {
		h = mix64(h ^ p + 0x9e3779b97f4a7c15)
	}
	return rng{s: h}
}

// hashOf returns one value of the generator seeded with parts.
func hashOf(parts ...uint64) uint64 {
	r := seeded(parts...)
	return r.next()
}

// hashString folds a label into a seed part.
func hashString(s string) uint64 {
	h := uint64(1469598103934665603)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns an int in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns an int in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}

// float returns a float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// lognorm returns a log-normal value with the given median and spread (sigma).
func (r *rng) lognorm(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.norm())
}

// norm returns a standard normal value (Box-Muller).
func (r *rng) norm() float64 {
	u := r.float()
	if u < 1e-300 {
		u = 1e-300
	}
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

// hex appends n lower-case hex digits.
func (r *rng) hex(dst []byte, n int) []byte {
	const digits = "0123456789abcdef"
	var v uint64
	for i := 0; i < n; i++ {
		if i%16 == 0 {
			v = r.next()
		}
		dst = append(dst, digits[v&15])
		v >>= 4
	}
	return dst
}
