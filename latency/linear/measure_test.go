package linear

import (
	"math"
	"testing"
)

const arch1 = "k5_e6 skip k3_e1_g2 skip k5_e1 skip skip skip k5_e6 k5_e1 k3_e1_g2 k5_e1 k5_e6 k3_e6 k3_e3 k5_e6 k3_e6 k3_e3 k5_e1 k3_e3 k5_e1 k5_e1_g2"
const arch2 = "k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1 k3_e1"

func TestFBNetPhones(t *testing.T) {
	choices, p2, s7, err := FBNetPhones()
	if err != nil {
		t.Fatal(err)
	}
	if len(choices) != 5000 || len(p2) != 5000 || len(s7) != 5000 {
		t.Fatalf("%d %d %d rows", len(choices), len(p2), len(s7))
	}
	// First row of the embedded file.
	want, _ := fbnet(t).Parse(arch1)
	for i := range want {
		if choices[0][i] != want[i] {
			t.Fatalf("first network %v, want %v", choices[0], want)
		}
	}
	if p2[0] != 28 || s7[0] != 100 {
		t.Errorf("first latencies %g %g, want 28 100", p2[0], s7[0])
	}
	for i := range p2 {
		if p2[i] != math.Round(p2[i]) || s7[i] != math.Round(s7[i]) {
			t.Fatalf("row %d: phone latencies %g %g are not whole ms", i, p2[i], s7[i])
		}
	}
}
