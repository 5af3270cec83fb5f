package bench

import (
	"slices"
	"testing"
)

func TestRoundFractions(t *testing.T) {
	for n, want := range map[int][]float64{
		1:  {0.1},
		2:  {0.1, 1},
		3:  {0.1, 0.55, 1},
		10: {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1},
	} {
		got, err := RoundFractions(n)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("RoundFractions(%d) = %v, %v; want %v", n, got, err, want)
		}
	}
	for _, bad := range []int{0, -1, 1001} {
		if _, err := RoundFractions(bad); err == nil {
			t.Errorf("RoundFractions(%d) accepted", bad)
		}
	}
}

func TestParseFraction(t *testing.T) {
	for s, want := range map[string]float64{"10%": 0.1, "0.5": 0.5, " 100% ": 1, "0": 0, "0%": 0, "1": 1, "12.5%": 0.125} {
		if got, err := ParseFraction(s); err != nil || got != want {
			t.Errorf("ParseFraction(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "%", "101%", "1.5", "-1%", "abc", "NaN"} {
		if _, err := ParseFraction(bad); err == nil {
			t.Errorf("ParseFraction(%q) accepted", bad)
		}
	}
	if got, err := ParseFractions([]string{"10%", "0.2"}); err != nil || !slices.Equal(got, []float64{0.1, 0.2}) {
		t.Errorf("ParseFractions = %v, %v", got, err)
	}
}
