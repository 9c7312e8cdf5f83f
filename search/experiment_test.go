package search

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/space"
)

// nb201Problem is a search problem built from the real NAS-Bench-201
// table: reward = acc_cifar100/100 + beta*|MAX/T - 1|, where MAX is the
// worst ratio over the six devices of a cell's latency to the ResNet
// cell's. The exact optimum is known by enumerating all 15,625 cells.
type nb201Problem struct {
	decisions []space.Decision
	radix     []int
	reward    []float64 // by rank (lexicographic index) of the vector
	best      int       // rank of the optimum
	bestR     float64
}

const resnetCell = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"

var nb201Devices = []string{"pixel3_ms", "raspi4_ms", "eyeriss_ms", "fpga_ms", "pixel2_ms", "samsung_s7_ms"}

func loadNB201(t testing.TB, target, beta float64) *nb201Problem {
	t.Helper()
	s, err := space.Get("nb201")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("nb201/nb201_multidevice.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	p := &nb201Problem{decisions: s.Decisions()}
	p.radix, _ = radixOf(p.decisions)
	size := 1
	for _, n := range p.radix {
		size *= n
	}
	acc := make([]float64, size)
	lat := make([][]float64, size)
	seen := make([]bool, size)
	num := func(row []string, name string) float64 {
		x, err := strconv.ParseFloat(row[col[name]], 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return x
	}
	ref := -1
	for _, row := range rows[1:] {
		v, err := s.Parse(row[col["arch_str"]])
		if err != nil {
			t.Fatal(err)
		}
		r := rank(v, p.radix)
		seen[r] = true
		acc[r] = num(row, "acc_cifar100")
		for _, d := range nb201Devices {
			lat[r] = append(lat[r], num(row, d))
		}
		if row[col["arch_str"]] == resnetCell {
			ref = r
		}
	}
	if ref < 0 || slices.Contains(seen, false) {
		t.Fatalf("incomplete NAS-Bench-201 table (ResNet cell found: %v)", ref >= 0)
	}
	p.reward = make([]float64, size)
	p.best = -1
	for r := range size {
		worst := 0.0
		for d := range nb201Devices {
			worst = math.Max(worst, lat[r][d]/lat[ref][d])
		}
		p.reward[r] = acc[r]/100 + beta*math.Abs(worst/target-1)
		if p.best < 0 || p.reward[r] > p.bestR {
			p.best, p.bestR = r, p.reward[r]
		}
	}
	return p
}

// trial is one search's record at the budgets.
type trial struct {
	hit    []bool    // Chosen() is the optimum
	found  []bool    // the optimum was evaluated
	regret []float64 // optimum's reward minus Chosen()'s
	seen   []float64 // optimum's reward minus the best evaluated
}

var budgets = []int{100, 300, 1000}

func (p *nb201Problem) run(t testing.TB, algo string, cfg Config) trial {
	c, err := New(algo, p.decisions, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var tr trial
	found := false
	bestSeen := math.Inf(-1)
	for i := 1; i <= budgets[len(budgets)-1]; i++ {
		v, ok := c.Propose()
		if !ok {
			break
		}
		r := rank(v, p.radix)
		found = found || r == p.best
		bestSeen = math.Max(bestSeen, p.reward[r])
		if err := c.Observe(v, p.reward[r]); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(budgets, i) {
			ch := rank(c.Chosen(), p.radix)
			tr.hit = append(tr.hit, ch == p.best)
			tr.found = append(tr.found, found)
			tr.regret = append(tr.regret, p.bestR-p.reward[ch])
			tr.seen = append(tr.seen, p.bestR-bestSeen)
		}
	}
	return tr
}

// row summarises 20 seeds of one setting: hit rates and median regrets.
type row struct {
	name         string
	hit, found   []int
	medianRegret []float64
	medianSeen   float64 // median regret of the best evaluated, at the last budget
}

func (p *nb201Problem) summarise(t testing.TB, name, algo string, cfg Config, seeds int) row {
	rw := row{name: name, hit: make([]int, len(budgets)), found: make([]int, len(budgets))}
	regrets := make([][]float64, len(budgets))
	var seen []float64
	for s := range seeds {
		cfg.Seed = uint64(s)
		tr := p.run(t, algo, cfg)
		for b := range budgets {
			if tr.hit[b] {
				rw.hit[b]++
			}
			if tr.found[b] {
				rw.found[b]++
			}
			regrets[b] = append(regrets[b], tr.regret[b])
		}
		seen = append(seen, tr.seen[len(budgets)-1])
	}
	rw.medianSeen = median(seen)
	for b := range budgets {
		rw.medianRegret = append(rw.medianRegret, median(regrets[b]))
	}
	return rw
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	m := len(xs)
	return (xs[(m-1)/2] + xs[m/2]) / 2
}

func (rw row) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-34s", rw.name)
	for b := range budgets {
		fmt.Fprintf(&sb, " | %2d/%2d %7.4f", rw.hit[b], rw.found[b], rw.medianRegret[b])
	}
	fmt.Fprintf(&sb, " | %7.4f", rw.medianSeen)
	return sb.String()
}

// TestExperimentNB201 is the experiment that chose the defaults: on the
// real NAS-Bench-201 table with a binding fleet-MAX target (T = 0.8 of the
// ResNet cell's latency on every device), how often does each controller
// end with the exact optimum of the 15,625 cells after 100, 300 and 1000
// evaluations, over 20 seeds? Each budget's cell of the logged table is
// "hit/found median-regret": hit counts the seeds whose Chosen() is the
// optimum, found those that evaluated it at least once, and the regret is
// the optimum's reward minus Chosen()'s. The last column is the median
// regret of the best vector evaluated within 1000 evaluations, which for
// tunas differs from its Chosen() (the policy's mode).
//
// Two penalties are run: beta = -0.1 (about TuNAS's strength; a clear
// optimum, 0.004 ahead of the runner-up) and beta = -0.5 (a steep
// penalty; the top two cells are within 0.0003, so "hit" is nearly a coin
// toss between them and the regret is the better measure).
//
// What it showed: evolution
// has the lowest regret at every budget; tunas's factorised policy
// converges within a few hundred evaluations to a local optimum that
// differs from the optimum in most decisions, so its Chosen() reaches the
// exact optimum in at most 1-2 of 20 seeds, and its median regret beats
// random's at no budget. Learning rate 0.1 was the best compromise (0.05
// is slower at 100-300 evaluations and no better at 1000; 0.2 and above
// converge prematurely); batches above 1 only slowed it down for these
// budgets; an entropy bonus of 0.3 helped on one problem only.
func TestExperimentNB201(t *testing.T) {
	if testing.Short() {
		t.Skip("experiment: skipped in -short mode")
	}
	start := time.Now()
	const seeds = 20
	for _, beta := range []float64{-0.1, -0.5} {
		p := loadNB201(t, 0.8, beta)
		second := math.Inf(-1)
		for r, x := range p.reward {
			if r != p.best {
				second = math.Max(second, x)
			}
		}
		bs, _ := space.Get("nb201")
		bv := make([]int, len(p.radix))
		for d := len(bv) - 1; d >= 0; d-- {
			bv[d] = p.best / prod(p.radix[d+1:]) % p.radix[d]
		}
		name, _ := bs.Format(bv)
		t.Logf("reward = acc_cifar100/100 %+g*|MAX/0.8 - 1|: optimum %s reward %.4f, runner-up %.4f", beta, name, p.bestR, second)
		t.Logf("%-34s | %-15s | %-15s | %-15s | %s", "setting", "100", "300", "1000", "best seen")

		rows := map[string]row{}
		add := func(name, algo string, cfg Config) row {
			rw := p.summarise(t, name, algo, cfg, seeds)
			rows[name] = rw
			t.Log(rw)
			return rw
		}
		rnd := add("random", "random", Config{})
		add("exhaustive", "exhaustive", Config{})
		for _, ps := range [][2]int{{10, 3}, {20, 5}, {50, 10}} {
			add(fmt.Sprintf("evolution P=%d S=%d", ps[0], ps[1]), "evolution", Config{Population: ps[0], Sample: ps[1]})
		}
		evo := add("evolution (defaults)", "evolution", Config{})
		for _, lr := range []float64{0.02, 0.05, 0.1, 0.2, 0.5} {
			for _, batch := range []int{1, 4} {
				add(fmt.Sprintf("tunas lr=%g batch=%d", lr, batch), "tunas", Config{LearningRate: lr, Batch: batch})
			}
		}
		add("tunas lr=0.1 bonus=0.3", "tunas", Config{LearningRate: 0.1, EntropyBonus: 0.3})
		add("tunas (defaults)", "tunas", Config{})
		last := len(budgets) - 1
		if evo.medianRegret[last] > rnd.medianRegret[last] {
			t.Errorf("beta %g: evolution's median regret %.4f at %d evaluations is worse than random's %.4f", beta, evo.medianRegret[last], budgets[last], rnd.medianRegret[last])
		}
	}
	t.Logf("experiment took %v", time.Since(start).Round(time.Millisecond))
}

func prod(xs []int) int {
	n := 1
	for _, x := range xs {
		n *= x
	}
	return n
}
