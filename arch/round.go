package arch

// MakeDivisible rounds v to the nearest multiple of divisor, never below
// minValue (divisor when minValue <= 0), and adds one divisor when rounding
// would lose more than 10% of v. It is Model Garden's make_divisible with
// round_down_protect=True, which every reference MobileNet uses for widths;
// reproducing it bit for bit is what makes the published parameter counts
// come out exactly.
func MakeDivisible(v float64, divisor, minValue int) int {
	if divisor <= 0 {
		divisor = 1
	}
	if minValue <= 0 {
		minValue = divisor
	}
	d := float64(divisor)
	n := int(v+d/2) / divisor * divisor
	if n < minValue {
		n = minValue
	}
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// ScaleFilters applies a width multiplier to a block's filter count the way
// Model Garden's round_filters does (min depth 8).
func ScaleFilters(filters int, multiplier float64, divisor int) int {
	return MakeDivisible(float64(filters)*multiplier, divisor, 8)
}
