package linear

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/space"
)

// FuzzLoad: a saved model file that loads must predict finite latencies;
// nothing may panic.
func FuzzLoad(f *testing.F) {
	sp, err := space.Get("nb201")
	if err != nil {
		f.Fatal(err)
	}
	choices := space.Sample(sp, 60, 1)
	y := make([]float64, len(choices))
	for i, c := range choices {
		y[i] = 1 + float64(c[0]+2*c[3])
	}
	m, err := Fit("nb201", sp.Decisions(), choices, y, TuNAS())
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(strings.Replace(buf.String(), "nb201", "fbnet", 1)))
	f.Add([]byte(`{"format": "x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(bytes.NewReader(b), sp)
		if err != nil {
			return
		}
		for _, c := range choices[:5] {
			v, err := m.Predict(c)
			if err == nil && (v != v || v > 1e300 || v < -1e300) {
				t.Fatalf("loaded model predicts %g", v)
			}
		}
	})
}
