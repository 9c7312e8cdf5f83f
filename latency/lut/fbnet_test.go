package lut

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// TestFBNetReproducesBenchmark: the per-op tables reproduce HW-NAS-Bench's
// pixel3, raspi4, eyeriss and fpga latencies of all 5,000 benchmark
// architectures.
//
// Two checks per architecture and device: the table's latency equals BIAS
// plus the 22 deltas summed here straight from the CSV (to 1e-9 ms: the
// mapping to signatures is exact), and it equals the benchmark's column.
// The embedded deltas are rounded to 1e-6 ms while the pixel3 and raspi4
// columns were summed from unrounded ones, so for those two the sum of 23
// rounded numbers can be off by up to 23 x 0.5e-6 ms; eyeriss and fpga
// deltas are exact and must match to 1e-6 ms.
func TestFBNetReproducesBenchmark(t *testing.T) {
	devices := []string{"pixel3", "raspi4", "eyeriss", "fpga"}
	tolerance := map[string]float64{"pixel3": 23 * 0.5e-6, "raspi4": 23 * 0.5e-6, "eyeriss": 1e-6, "fpga": 1e-6}
	got, err := FBNetDevices()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "eyeriss,fpga,pixel3,raspi4" {
		t.Errorf("devices %v", got)
	}
	tables := map[string]*Table{}
	for _, d := range devices {
		if tables[d], err = FBNet(d); err != nil {
			t.Fatal(err)
		}
	}
	// The reference: BIAS + sum of deltas, read with encoding/csv alone.
	lutRows, err := csv.NewReader(bytes.NewReader(data.MustFile("fbnet/fbnet_lut_cifar100.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	delta := map[string]float64{} // "device/layer/op", layer -1 = BIAS
	for _, r := range lutRows[1:] {
		v, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		op := r[2]
		if r[1] == "-1" {
			op = "BIAS"
		}
		delta[r[0]+"/"+r[1]+"/"+op] = v
	}
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("fbnet/fbnet_archs_latency.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	sp, err := space.Get("fbnet")
	if err != nil {
		t.Fatal(err)
	}
	worstBench, worstSum := map[string]float64{}, map[string]float64{}
	for _, row := range rows[1:] {
		ops := strings.Fields(row[col["ops"]])
		c, err := sp.Parse(row[col["ops"]])
		if err != nil {
			t.Fatal(err)
		}
		net, err := latency.FromSpace(sp, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devices {
			bench, err := strconv.ParseFloat(row[col[d+"_ms"]], 64)
			if err != nil {
				t.Fatal(err)
			}
			sum := delta[d+"/-1/BIAS"]
			for i, op := range ops {
				v, ok := delta[d+"/"+strconv.Itoa(i)+"/"+op]
				if !ok {
					t.Fatalf("no delta for %s layer %d %s", d, i, op)
				}
				sum += v
			}
			ms, err := tables[d].Latency(net)
			if err != nil {
				t.Fatalf("arch %s on %s: %v", row[0], d, err)
			}
			eb, es := math.Abs(ms-bench), math.Abs(ms-sum)
			worstBench[d] = math.Max(worstBench[d], eb)
			worstSum[d] = math.Max(worstSum[d], es)
			if es > 1e-9 {
				t.Errorf("arch %s on %s: %.12f ms, BIAS + deltas = %.12f", row[0], d, ms, sum)
			}
			if eb > tolerance[d] {
				t.Errorf("arch %s on %s: %.9f ms, benchmark %.9f", row[0], d, ms, bench)
			}
		}
	}
	if n := len(rows) - 1; n != 5000 {
		t.Errorf("%d architectures, want 5000", n)
	}
	for _, d := range devices {
		t.Logf("%s: max |table - benchmark| %.3g ms, max |table - (BIAS + deltas)| %.3g ms over %d architectures",
			d, worstBench[d], worstSum[d], len(rows)-1)
	}
}

// TestFBNetOtherSettings: a fbnet network at another resolution or class
// count has blocks the table never measured.
func TestFBNetOtherSettings(t *testing.T) {
	tb, err := FBNet("pixel3")
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := space.Get("fbnet")
	c := space.Sample(sp, 1, 3)[0]
	n, err := sp.Network(c, space.Options{Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	net, _ := latency.FromNetwork(n, 0)
	_, err = tb.Latency(net)
	var me *MissingError
	if !errors.As(err, &me) || !strings.HasPrefix(me.Signature, "fc:in=1x1x1504,out=10,") {
		t.Errorf("got %v", err)
	}
	if _, err := FBNet("pixel9"); err == nil || !strings.Contains(err.Error(), "pixel3") {
		t.Errorf("unknown device: %v", err)
	}
}

// fbnetFixture is a small valid table for one device: BIAS and all 22 x 9
// rows, the delta depending only on the op (so equal-signature layers
// agree).
func fbnetFixture() string {
	var sb strings.Builder
	sb.WriteString("device,layer,op,delta_ms_vs_k3_e1\n")
	sb.WriteString("dev,-1,BIAS(all k3_e1),5\n")
	ops := []string{"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"}
	for l := range 22 {
		for i, op := range ops {
			d := float64(i) * 0.1
			if op == "skip" {
				d = -0.05
			}
			sb.WriteString("dev," + strconv.Itoa(l) + "," + op + "," + strconv.FormatFloat(d, 'g', -1, 64) + "\n")
		}
	}
	return sb.String()
}

func TestReadFBNetFixture(t *testing.T) {
	tb, err := ReadFBNet(strings.NewReader(fbnetFixture()), "fx.csv", "dev")
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := space.Get("fbnet")
	c, _ := sp.Parse(strings.TrimSpace(strings.Repeat("k3_e6 ", 11) + strings.Repeat("skip ", 11)))
	net, err := latency.FromSpace(sp, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tb.Latency(net)
	if err != nil {
		t.Fatal(err)
	}
	if want := 5 + 11*0.3 - 11*0.05; math.Abs(got-want) > 1e-12 {
		t.Errorf("%g ms, want %g", got, want)
	}
}

// TestReadFBNetErrors: malformed tables name the file and line.
func TestReadFBNetErrors(t *testing.T) {
	good := fbnetFixture()
	lines := strings.Split(good, "\n")
	replace := func(i int, s string) string {
		l := append([]string(nil), lines...)
		l[i] = s
		return strings.Join(l, "\n")
	}
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"f.csv", "empty"}},
		{"header only", lines[0] + "\n", []string{"f.csv", "no entries"}},
		{"bad header", replace(0, "device,layer,op,ms"), []string{"f.csv:1", "header"}},
		{"bad layer", replace(3, "dev,one,k3_e1,0"), []string{"f.csv:4", `layer "one"`}},
		{"bad op", replace(3, "dev,0,k9_e9,0"), []string{"f.csv:4", `unknown op "k9_e9"`}},
		{"non-numeric delta", replace(4, "dev,0,k3_e1_g2,fast"), []string{"f.csv:5", `delta "fast"`}},
		{"nan delta", replace(4, "dev,0,k3_e1_g2,NaN"), []string{"f.csv:5", "finite"}},
		{"duplicate", replace(4, "dev,0,k3_e1,0"), []string{"f.csv:5", "appears twice", "line 3"}},
		{"fields", replace(4, "dev,0,k3_e1_g2"), []string{"f.csv:5", "3 fields"}},
		{"bias op", replace(1, "dev,-1,k3_e1,5"), []string{"f.csv:2", "BIAS"}},
		{"no bias", replace(1, ""), []string{"f.csv", "no BIAS"}},
		{"missing row", replace(5, ""), []string{"f.csv", "no row for layer 0, op k3_e6"}},
		{"layer beyond", good + "dev,22,k3_e1,0\n", []string{"f.csv:", "layer 22"}},
		{"inconsistent layers", replace(2+9*3+2, "dev,3,k3_e3,0.7"), []string{"f.csv", "layer 2 op k3_e3 and layer 3 op k3_e3"}},
		{"quote", replace(4, `dev,0,"k3_e1_g2,0`), []string{"f.csv:"}},
	}
	for _, c := range cases {
		_, err := ReadFBNet(strings.NewReader(c.in), "f.csv", "dev")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, err := ReadFBNet(strings.NewReader(good), "f.csv", "other"); err == nil || !strings.Contains(err.Error(), `no device "other"`) {
		t.Errorf("unknown device: %v", err)
	}
}

func FuzzReadFBNet(f *testing.F) {
	f.Add([]byte(fbnetFixture()), "dev")
	f.Add(data.MustFile(fbnetPath)[:3000], "pixel3")
	f.Add([]byte("device,layer,op,delta_ms_vs_k3_e1\n"), "x")
	f.Fuzz(func(t *testing.T, in []byte, device string) {
		tb, err := ReadFBNet(bytes.NewReader(in), "fuzz.csv", device)
		if err == nil && tb.Len() == 0 {
			t.Fatal("accepted a table without entries")
		}
	})
}
