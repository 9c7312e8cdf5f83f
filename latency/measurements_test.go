package latency

import (
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/space"
)

func TestReadMeasurementsErrors(t *testing.T) {
	sp, err := space.Get("nb201")
	if err != nil {
		t.Fatal(err)
	}
	const a = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
	const b = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"header", "net,ms\n", "m.csv:1: header"},
		{"bad arch", "arch,latency_ms\n|x~0|,3\n", "m.csv:2: column arch"},
		{"nan", "arch,latency_ms\n" + a + ",NaN\n", "m.csv:2: column latency_ms"},
		{"negative", "arch,latency_ms\n" + a + ",-1\n", "m.csv:2: column latency_ms"},
		{"duplicate", "arch,latency_ms\n" + a + ",1\n" + b + ",2\n" + a + ",1.5\n", "m.csv:4: network measured twice (also line 2)"},
		{"short row", "arch,latency_ms\n" + a + "\n", "m.csv:2: 1 fields"},
		{"no rows", "arch,latency_ms\n", "no measurements"},
	}
	for _, c := range cases {
		_, err := ReadMeasurements(strings.NewReader(c.in), "m.csv", sp)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	m, err := ReadMeasurements(strings.NewReader("# comment\narch,latency_ms,device\n"+a+",1.5,x\n"+b+",2,x\n"), "m.csv", sp)
	if err != nil || len(m.MS) != 2 || m.MS[1] != 2 || m.Keys[0] != a {
		t.Errorf("%+v %v", m, err)
	}
}

func FuzzReadMeasurements(f *testing.F) {
	f.Add("arch,latency_ms\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,3\n")
	f.Add("arch,latency_ms\n\"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\",1e309\n")
	sp, _ := space.Get("nb201")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ReadMeasurements(strings.NewReader(in), "fuzz.csv", sp)
		if err != nil {
			return
		}
		for _, v := range m.MS {
			if !(v > 0) {
				t.Fatalf("accepted latency %g", v)
			}
		}
	})
}
