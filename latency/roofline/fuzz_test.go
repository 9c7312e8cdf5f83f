package roofline

import (
	"bytes"
	"testing"
)

// FuzzReadJSON: a device file that loads has valid parameters; nothing
// may panic.
func FuzzReadJSON(f *testing.F) {
	for _, d := range RidgeFamily()[:2] {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, d); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"format": "fleetnas.roofline/v1", "name": "x", "params": {"peak_gmacs": -1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := d.Model.Params().Validate(); err != nil {
			t.Fatalf("loaded invalid parameters: %v", err)
		}
	})
}
