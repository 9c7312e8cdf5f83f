package lut

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency"
)

// TestMissingEntry: a kernel-9 block is not in the Note10 table; the error
// wraps ErrUnsupported and names the block's signature and the three
// nearest entries: the same block with kernel 7 (distance 1), then kernel
// 7 with the nearest expanded widths 96 and 192.
func TestMissingEntry(t *testing.T) {
	tb, err := Note10(224)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := ofaNetwork(224, []int{2, 2, 2, 2, 2},
		[][]int{{3, 9}, {3, 3}, {3, 3}, {3, 3}, {3, 3}}, [][]int{{4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}})
	net, err := latency.FromNetwork(n, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tb.Latency(net)
	if !errors.Is(err, latency.ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("got %T", err)
	}
	missing := "ibn:in=56x56x32,out=32,k=9,s=1,exp=128,g=1,se=0,act=relu,res=1"
	nearest := []string{
		"ibn:in=56x56x32,out=32,k=7,s=1,exp=128,g=1,se=0,act=relu,res=1",
		"ibn:in=56x56x32,out=32,k=7,s=1,exp=96,g=1,se=0,act=relu,res=1",
		"ibn:in=56x56x32,out=32,k=7,s=1,exp=192,g=1,se=0,act=relu,res=1",
	}
	if me.Signature != missing || me.Block != 3 || me.Table != "note10_224" {
		t.Errorf("missing %+v", me)
	}
	if len(me.Nearest) != 3 {
		t.Fatalf("nearest %+v", me.Nearest)
	}
	for i, w := range nearest {
		if me.Nearest[i].Signature != w {
			t.Errorf("nearest %d: %s, want %s", i, me.Nearest[i].Signature, w)
		}
	}
	msg := err.Error()
	for _, w := range append([]string{missing, "note10_224", "block 3", `"ofa"`}, nearest...) {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

func TestLatencyBadInput(t *testing.T) {
	tb := New("t", "", 0)
	if _, err := tb.Latency(nil); err == nil {
		t.Error("nil net accepted")
	}
	if _, err := tb.Latency(&latency.Net{}); err == nil {
		t.Error("net without graph accepted")
	}
	n := &arch.Network{Format: arch.Format, Resolution: 8, Blocks: []arch.Block{{Type: arch.GlobalPool}}}
	net, _ := latency.FromNetwork(n, 0)
	_, err := tb.Latency(net)
	if !errors.Is(err, latency.ErrUnsupported) || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty table: %v", err)
	}
	s, _ := ParseSignature("gpool:in=8x8x3,out=3,k=0,s=1,exp=3,g=1,se=0,act=identity,res=0")
	for _, bad := range []float64{math.NaN(), math.Inf(1), -1} {
		if err := tb.Set(s, bad); err == nil {
			t.Errorf("Set(%g) accepted", bad)
		}
	}
	if err := tb.Set(Signature{Op: "gpool"}, 1); err == nil {
		t.Error("Set of an invalid signature accepted")
	}
	tb.Constant = 0.5
	if err := tb.Set(s, 0.25); err != nil {
		t.Fatal(err)
	}
	if ms, err := tb.Latency(net); err != nil || ms != 0.75 {
		t.Errorf("got %g, %v", ms, err)
	}
}

// TestCSVRoundTrip: built-in tables written and read back keep every
// entry bit for bit, the constant and the source.
func TestCSVRoundTrip(t *testing.T) {
	var tables []*Table
	for _, mk := range []func() (*Table, error){
		func() (*Table, error) { return Note10(192) },
		Pixel1,
		func() (*Table, error) { return FBNet("raspi4") },
	} {
		tb, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tb)
	}
	for _, tb := range tables {
		var buf bytes.Buffer
		if err := tb.WriteCSV(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCSV(bytes.NewReader(buf.Bytes()), tb.Name)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tb.Name, err, buf.String())
		}
		if back.Constant != tb.Constant || back.Source != tb.Source || back.Len() != tb.Len() {
			t.Errorf("%s: constant %g/%g source %q/%q len %d/%d", tb.Name, back.Constant, tb.Constant, back.Source, tb.Source, back.Len(), tb.Len())
		}
		for _, e := range tb.Entries() {
			if ms, ok := back.Lookup(e.Signature); !ok || ms != e.Ms {
				t.Errorf("%s: %s: %g %v, want %g", tb.Name, e.Signature, ms, ok, e.Ms)
			}
		}
		var again bytes.Buffer
		if err := back.WriteCSV(&again); err != nil {
			t.Fatal(err)
		}
		if again.String() != buf.String() {
			t.Errorf("%s: second write differs", tb.Name)
		}
	}
	// And through a file, named after it.
	path := filepath.Join(t.TempDir(), "mine.csv")
	var buf bytes.Buffer
	if err := tables[0].WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := ReadCSVFile(path)
	if err != nil || tb.Name != "mine" || tb.Len() != tables[0].Len() {
		t.Errorf("ReadCSVFile: %v %+v", err, tb)
	}
	if _, err := ReadCSVFile(filepath.Join(t.TempDir(), "none.csv")); err == nil {
		t.Error("missing file accepted")
	}
}

const goodCSV = `# my phone, profiled 2025-01-01
# source: profiled with benchmark_model
signature,latency_ms
constant,0.125
"conv:in=32x32x3,out=16,k=3,s=2,exp=3,g=1,se=0,act=relu,res=0",0.5
"gpool:in=16x16x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0",0.01

"fc:in=1x1x16,out=10,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0",0.002
`

func TestReadCSVGood(t *testing.T) {
	tb, err := ReadCSV(strings.NewReader(goodCSV), "mine.csv")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Source != "profiled with benchmark_model" || tb.Constant != 0.125 || tb.Len() != 3 {
		t.Errorf("%+v", tb)
	}
	n := &arch.Network{Format: arch.Format, Resolution: 32, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 16, Activation: arch.ReLU},
		{Type: arch.GlobalPool},
		{Type: arch.FC, Filters: 10},
	}}
	if got := price(t, tb, n); got != 0.125+0.5+0.01+0.002 {
		t.Errorf("%g ms", got)
	}
	// CRLF line ends and no constant row are fine.
	crlf := strings.ReplaceAll(strings.Replace(goodCSV, "constant,0.125\n", "", 1), "\n", "\r\n")
	if tb, err := ReadCSV(strings.NewReader(crlf), "crlf.csv"); err != nil || tb.Constant != 0 {
		t.Errorf("CRLF: %v", err)
	}
}

// TestReadCSVErrors: each malformed file is rejected naming file:line.
func TestReadCSVErrors(t *testing.T) {
	const h = "signature,latency_ms\n"
	const sig = `"gpool:in=16x16x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0"`
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"f.csv", "empty"}},
		{"comments only", "# x\n\n", []string{"f.csv", "empty"}},
		{"header only", h, []string{"f.csv", "no entries"}},
		{"constant only", h + "constant,1\n", []string{"f.csv", "no entries"}},
		{"missing column", "signature\n" + sig + "\n", []string{"f.csv:1", "header"}},
		{"extra column", "signature,latency_ms,std\n", []string{"f.csv:1", "header"}},
		{"unquoted", h + strings.Trim(sig, `"`) + ",1\n", []string{"f.csv:2", "must be quoted"}},
		{"one field", h + sig + "\n", []string{"f.csv:2", "1 fields"}},
		{"unknown op", h + `"transformer:in=1x1x1,out=1,k=0,s=1,exp=1,g=1,se=0,act=identity,res=0",1` + "\n", []string{"f.csv:2", "unknown op kind"}},
		{"bad shape", h + `"gpool:in=16x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0",1` + "\n", []string{"f.csv:2", "HxWxC"}},
		{"NaN", h + sig + ",NaN\n", []string{"f.csv:2", "finite"}},
		{"Inf", h + sig + ",+Inf\n", []string{"f.csv:2", "finite"}},
		{"negative", h + sig + ",-0.5\n", []string{"f.csv:2", "negative"}},
		{"text latency", h + sig + ",fast\n", []string{"f.csv:2", `"fast"`}},
		{"duplicate", h + sig + ",1\n# c\n" + sig + ",2\n", []string{"f.csv:4", "duplicate", "line 2"}},
		{"two constants", h + "constant,1\nconstant,2\n" + sig + ",1\n", []string{"f.csv:3", "second constant", "line 2"}},
		{"nan constant", h + "constant,NaN\n" + sig + ",1\n", []string{"f.csv:2", "finite"}},
		{"open quote", h + `"gpool:in=16x16x16,1` + "\n", []string{"f.csv:2", "bad CSV"}},
		{"long line", h + strings.Repeat("x", maxLine+10), []string{"f.csv:2", "longer"}},
	}
	for _, c := range cases {
		_, err := ReadCSV(strings.NewReader(c.in), "f.csv")
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
}

func TestWriteCSVRejectsNaNConstant(t *testing.T) {
	tb := New("t", "", math.NaN())
	if err := tb.WriteCSV(&bytes.Buffer{}); err == nil {
		t.Error("NaN constant written")
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(goodCSV))
	f.Add([]byte("signature,latency_ms\nconstant,-1\n\"nb201_cell:in=8x8x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0,ops=none|none|none|none|none|none\",0\n"))
	f.Add([]byte("signature,latency_ms\n\"a\"\"b\",1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := ReadCSV(bytes.NewReader(in), "fuzz.csv")
		if err != nil {
			return
		}
		// Whatever reads must write and read back the same.
		var buf bytes.Buffer
		if err := tb.WriteCSV(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCSV(&buf, "again.csv")
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if back.Len() != tb.Len() || back.Constant != tb.Constant || back.Source != tb.Source {
			t.Fatalf("round trip changed the table")
		}
	})
}

// TestDocExample: the example in docs/lut-csv.md reads.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/lut-csv.md")
	if err != nil {
		t.Skip("docs not present:", err)
	}
	_, rest, ok := strings.Cut(string(doc), "```csv\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no csv block in docs/lut-csv.md")
	}
	tb, err := ReadCSV(strings.NewReader(block), "docs/lut-csv.md")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Len() != 7 || tb.Constant != 0.21 || !strings.HasPrefix(tb.Source, "profiled on a Pixel 7") {
		t.Errorf("%d entries, constant %g, source %q", tb.Len(), tb.Constant, tb.Source)
	}
}

// TestConcurrentLatency: a built table is read-only, so search loops may
// price networks from several goroutines (run with -race).
func TestConcurrentLatency(t *testing.T) {
	tb, err := Note10(176)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := ofaNetwork(176, []int{2, 3, 4, 2, 3},
		[][]int{{3, 5}, {7, 3, 5}, {3, 3, 5, 7}, {5, 5}, {7, 3, 3}}, [][]int{{3, 4}, {6, 3, 4}, {4, 4, 6, 3}, {3, 6}, {6, 4, 3}})
	net, err := latency.FromNetwork(n, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tb.Latency(net)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 50 {
				got, err := tb.Latency(net)
				if err == nil && got != want {
					err = errors.New("different result")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
