package report_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/fleetnas/fleetnas/report"
)

// A search command fills Data from its run and writes the page next to its
// other outputs.
func ExampleWriteFile() {
	net := func(step int, key string, acc, cpu, gpu float64) report.Point {
		r := []float64{cpu / 20, gpu / 8} // references: 20 ms and 8 ms
		return report.Point{
			Step: step, Key: key, Accuracy: acc,
			Avg: (r[0] + r[1]) / 2, Max: math.Max(r[0], r[1]),
			LatencyMS: []float64{cpu, gpu}, Ratio: r,
			Reward: acc, Entropy: math.NaN(),
		}
	}
	a := net(0, "3,1,4", 71.2, 15, 7)
	b := net(1, "2,7,1", 74.8, 21, 9)
	d := &report.Data{
		Title:     "multihw on two phones",
		Settings:  [][2]string{{"space", "multihw"}, {"algorithm", "random"}},
		Devices:   []string{"cpu", "gpu"},
		Metric:    "avg",
		Target:    1,
		History:   []report.Point{a, b},
		Chosen:    b,
		ParetoAVG: []report.Point{a, b},
		ParetoMAX: []report.Point{a, b},
		Summary:   [][2]string{{"target met", "no: AVG 1.095 > 1"}},
		// A zoo model priced on the same devices; its accuracy is on
		// another data set, so it is drawn as a line at its cost.
		References: []report.Reference{{
			Name: "MobileNetV2", Accuracy: math.NaN(), Avg: 1, Max: 1,
			LatencyMS: []float64{20, 8}, Ratio: []float64{1, 1},
		}},
	}
	dir, err := os.MkdirTemp("", "report")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := report.WriteFile(filepath.Join(dir, "run.html"), d); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("written")
	// Output: written
}
