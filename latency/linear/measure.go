package linear

import (
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/space"
)

const fbnetCSV = "fbnet/fbnet_archs_latency.csv"

// FBNetPhones returns the 5,000 FBNet architectures of the embedded
// benchmark (data/fbnet/fbnet_archs_latency.csv) as fbnet choice vectors,
// with their latencies measured end to end on a Pixel 2 and a Samsung
// Galaxy S7 (HELP; whole milliseconds). These are the real phone
// measurements that an additive per-op model cannot reproduce exactly,
// so they are what this package's models are calibrated and judged on.
func FBNetPhones() (choices [][]int, pixel2, s7 []float64, err error) {
	cols := map[string]*[]float64{"pixel2_ms": &pixel2, "samsung_s7_ms": &s7}
	choices, err = readFBNet(cols)
	return choices, pixel2, s7, err
}

// FBNetTables returns the same 5,000 architectures with their latencies on
// the four HW-NAS-Bench table devices (Pixel 3, Raspberry Pi 4, Eyeriss,
// FPGA). Those latencies are exact sums of a per-(layer, op) table, so an
// additive model must reproduce them to rounding error: a check of the
// feature map and solver against independent numbers.
func FBNetTables() (choices [][]int, byDevice map[string][]float64, err error) {
	devs := []string{"pixel3", "raspi4", "eyeriss", "fpga"}
	cols := make(map[string]*[]float64, len(devs))
	vals := make([][]float64, len(devs))
	for i, d := range devs {
		cols[d+"_ms"] = &vals[i]
	}
	choices, err = readFBNet(cols)
	if err != nil {
		return nil, nil, err
	}
	byDevice = make(map[string][]float64, len(devs))
	for i, d := range devs {
		byDevice[d] = vals[i]
	}
	return choices, byDevice, nil
}

// readFBNet parses the embedded FBNet benchmark, filling one slice per
// requested column.
func readFBNet(cols map[string]*[]float64) ([][]int, error) {
	sp, err := space.Get("fbnet")
	if err != nil {
		return nil, err
	}
	raw, err := data.File(fbnetCSV)
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fbnetCSV, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: no rows", fbnetCSV)
	}
	opsCol := slices.Index(recs[0], "ops")
	if opsCol < 0 {
		return nil, fmt.Errorf("%s: no ops column", fbnetCSV)
	}
	idx := make(map[string]int, len(cols))
	for c := range cols {
		i := slices.Index(recs[0], c)
		if i < 0 {
			return nil, fmt.Errorf("%s: no %s column", fbnetCSV, c)
		}
		idx[c] = i
	}
	choices := make([][]int, 0, len(recs)-1)
	for _, dst := range cols {
		*dst = make([]float64, 0, len(recs)-1)
	}
	for ln, rec := range recs[1:] {
		choice, err := sp.Parse(rec[opsCol])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", fbnetCSV, ln+2, err)
		}
		choices = append(choices, choice)
		for c, dst := range cols {
			v, err := strconv.ParseFloat(rec[idx[c]], 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: %s %q is not a positive latency", fbnetCSV, ln+2, c, rec[idx[c]])
			}
			*dst = append(*dst, v)
		}
	}
	return choices, nil
}
