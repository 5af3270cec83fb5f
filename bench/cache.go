package bench

// cacheState names a page-cache residency for the tables.
func cacheState(resident float64) string {
	switch {
	case resident < 0:
		return "unknown"
	case resident >= 0.99:
		return "warm"
	case resident <= 0.01:
		return "cold"
	}
	return "partial"
}

// residentBoth is the smaller page-cache fraction of the files, or -1.
func residentBoth(paths []string) float64 {
	low := 1.0
	for _, p := range paths {
		r, err := Resident(p)
		if err != nil || r < 0 {
			return -1
		}
		low = min(low, r)
	}
	return low
}
