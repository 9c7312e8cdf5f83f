package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"runtime"
	"strconv"
	"testing"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/fleet"

	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/search"
)

func nb201Settings() job.Settings {
	return job.Settings{Space: "nb201", Fleet: "nb201-mobile", Accuracy: "table:cifar100", Metric: metric.Metric{Kind: metric.KindMax},
		Target: 0.85, Beta: -0.5, Reward: "abs"}
}

// bareTrial is a second implementation of a trial: a controller and the
// exact table in a plain propose/observe loop, without the search loop,
// pricer or accuracy source.
func bareTrial(t *testing.T, e *Exact, algo string, budget int, seed uint64) (chosen string, reward float64) {
	t.Helper()
	ctrl, err := search.New(algo, e.pricer.Space().Decisions(), search.Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	for range budget {
		c, ok := ctrl.Propose()
		if !ok {
			break
		}
		key, _ := e.pricer.Space().Format(c)
		if err := ctrl.Observe(c, e.Records[key].Reward); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := e.pricer.Space().Format(ctrl.Chosen())
	return key, e.Records[key].Reward
}

// TestTrialsMatchABareLoop: every trial run by the search loop chooses
// what a bare controller loop over the exact table chooses, and the
// benchmark's figures do not depend on the number of cores.
func TestTrialsMatchABareLoop(t *testing.T) {
	ctx := context.Background()
	e, err := Enumerate(ctx, nb201Settings())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Records) != 15625 || len(e.Best) == 0 {
		t.Fatalf("%d networks, optimum %v", len(e.Records), e.Best)
	}
	sums, trials, err := e.BenchSearch(ctx, []string{"tunas", "evolution", "random"}, []int{50, 200}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 6 || len(trials) != 18 {
		t.Fatalf("%d summaries, %d trials", len(sums), len(trials))
	}
	for _, tr := range trials {
		key, reward := bareTrial(t, e, tr.Algo, tr.Budget, tr.Seed)
		if tr.Chosen != key || tr.Reward != reward || math.Abs(tr.Regret-(e.Optimum-reward)) > 0 {
			t.Errorf("%s budget %d seed %d: the loop chose %s (%v), a bare loop %s (%v)", tr.Algo, tr.Budget, tr.Seed, tr.Chosen, tr.Reward, key, reward)
		}
		if !(tr.RelHV > 0 && tr.RelHV <= 1+1e-12) {
			t.Errorf("%+v: relative hypervolume out of (0, 1]", tr)
		}
	}
	prev := runtime.GOMAXPROCS(1)
	_, one, err := e.BenchSearch(ctx, []string{"tunas", "evolution", "random"}, []int{50, 200}, 3)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if one[i] != trials[i] {
			t.Errorf("trial %d differs on one core: %+v against %+v", i, one[i], trials[i])
		}
	}
}

// nb201CSV reads every cell of the shared NAS-Bench-201 table in the
// space's enumeration order (the CSV's arch_idx order): its string, its
// CIFAR-100 accuracy and its latency ratio to the ResNet cell on each
// device.
func nb201CSV(t *testing.T, devices []string) (keys []string, acc []float64, ratios [][]float64) {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("nb201/nb201_multidevice.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	num := func(row []string, name string) float64 {
		v, err := strconv.ParseFloat(row[col[name]], 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	var ref []float64
	for _, r := range rows[1:] {
		if r[col["arch_str"]] == fleet.NB201ResNet {
			for _, d := range devices {
				ref = append(ref, num(r, d+"_ms"))
			}
		}
	}
	for _, r := range rows[1:] {
		keys = append(keys, r[col["arch_str"]])
		acc = append(acc, num(r, "acc_cifar100"))
		var rs []float64
		for i, d := range devices {
			rs = append(rs, num(r, d+"_ms")/ref[i])
		}
		ratios = append(ratios, rs)
	}
	return keys, acc, ratios
}

// TestMultiHWExhaustive: each objective's row is the exact optimum of its
// metric, found here by brute force over the CSV's latencies and
// accuracies; the held-out device is never an objective and AVG/MAX
// leave it out.
func TestMultiHWExhaustive(t *testing.T) {
	ctx := context.Background()
	s := nb201Settings()
	s.Algo, s.Holdout = "exhaustive", []string{"fpga"}
	devices, held, rows, err := MultiHW(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 6 || len(rows) != 7 {
		t.Fatalf("%d devices, %d rows", len(devices), len(rows))
	}
	keys, acc, ratios := nb201CSV(t, devices)
	for _, row := range rows {
		m, err := metric.Parse(row.Objective)
		if err != nil || (m.Kind == metric.KindDevice && m.Device == "fpga") {
			t.Fatalf("objective %q", row.Objective)
		}
		best, bestKey := math.Inf(-1), ""
		for k, key := range keys {
			var sum, worst, v float64
			for i, x := range ratios[k] {
				if held[i] {
					continue
				}
				sum += x
				worst = math.Max(worst, x)
				if m.Kind == metric.KindDevice && devices[i] == m.Device {
					v = x
				}
			}
			switch m.Kind {
			case metric.KindAvg:
				v = sum / 5
			case metric.KindMax:
				v = worst
			}
			if rw := acc[k]/100 - 0.5*math.Abs(v/0.85-1); rw > best+1e-12 {
				best, bestKey = rw, key
			}
		}
		if row.Chosen != bestKey || math.Abs(row.Reward-best) > 1e-12 {
			t.Errorf("%s: chose %s (%.6f), brute force %s (%.6f)", row.Objective, row.Chosen, row.Reward, bestKey, best)
		}
	}
	// A search per objective with a controller also runs through the
	// loop and reports a network for every objective.
	s.Algo, s.Budget, s.Seed = "evolution", 100, 1
	if _, _, rows, err = MultiHW(ctx, s); err != nil || len(rows) != 7 {
		t.Fatalf("evolution: %d rows, %v", len(rows), err)
	}
}

// TestEnumerateRefusesDrift: an exact benchmark needs a fixed accuracy.
func TestEnumerateRefuses(t *testing.T) {
	s := nb201Settings()
	s.Space, s.Fleet = "multihw", "ridgepoint"
	if _, err := Enumerate(context.Background(), s); err == nil {
		t.Error("a space of 10^19 networks was enumerated")
	}
}
