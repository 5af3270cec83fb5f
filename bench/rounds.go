package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// RoundFractions returns n changed fractions evenly spaced from 10% to
// 100%, both included: 10 gives 10%, 20%, … 100%; 3 gives 10%, 55%, 100%;
// 1 gives 10%. The ends are always there because the targets are judged
// at 10% (against rsync) and at 100% (against the transports' floors).
func RoundFractions(n int) ([]float64, error) {
	if n < 1 || n > 1000 {
		return nil, fmt.Errorf("rounds %d: want 1 to 1000", n)
	}
	if n == 1 {
		return []float64{0.1}, nil
	}
	out := make([]float64, n)
	for i := range out {
		v := 0.1 + 0.9*float64(i)/float64(n-1)
		out[i] = math.Round(v*1e6) / 1e6
	}
	return out, nil
}

// ParseFraction reads "10%" or "0.1" as a fraction of blocks, from 0 to 1.
func ParseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("changed %q: want a percentage like 10%% or a fraction from 0 to 1", s)
	}
	return v, nil
}

// ParseFractions reads a list of ParseFraction values.
func ParseFractions(list []string) ([]float64, error) {
	var out []float64
	for _, s := range list {
		v, err := ParseFraction(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
