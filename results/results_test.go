package results

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/metric"
)

func runSearch(t *testing.T, algo string, holdout []string) *job.Outcome {
	t.Helper()
	s := job.Settings{Space: "nb201", Fleet: "nb201-mobile", Accuracy: "table:cifar100", Metric: metric.Metric{Kind: metric.KindAvg},
		Target: 0.85, Beta: -0.5, Reward: "abs", Algo: algo, Budget: 60, Seed: 2, Holdout: holdout}
	o, err := job.Run(context.Background(), s, job.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestFiles writes a search's files and checks them against the history
// they come from: one CSV row per evaluation, result.json's counts, the
// held-out device, and Pareto fronts that no evaluated network dominates.
func TestFiles(t *testing.T) {
	o := runSearch(t, "tunas", []string{"fpga"})
	dir := t.TempDir()
	if err := Write(dir, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Format         string
		Evaluations    int
		UniqueNetworks int `json:"unique_networks"`
		Chosen         struct {
			Choice  string
			Devices []struct {
				Name    string
				HeldOut bool `json:"held_out"`
			}
		}
		Settings map[string]any
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{o.Chosen.Key: true}
	for _, r := range o.History {
		keys[r.Key] = true
	}
	if res.Format != Format || res.Evaluations != 60 || res.UniqueNetworks != len(keys) || res.Chosen.Choice != o.Chosen.Key {
		t.Errorf("result.json: %+v (%d distinct networks)", res, len(keys))
	}
	if res.Settings["metric"] != "avg" || res.Settings["algo"] != "tunas" {
		t.Errorf("settings %v", res.Settings)
	}
	for _, d := range res.Chosen.Devices {
		if d.HeldOut != (d.Name == "fpga") {
			t.Errorf("device %s held out: %v", d.Name, d.HeldOut)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(HistoryCSV(o))).ReadAll()
	if err != nil || len(rows) != 61 || len(rows[0]) != 8+2*6 {
		t.Fatalf("history.csv: %d rows of %d columns, %v", len(rows), len(rows[0]), err)
	}
	f, err := os.Open(filepath.Join(dir, "pareto.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	front, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, row := range front[1:] {
		if row[0] != "avg" {
			continue
		}
		n++
		acc, _ := strconv.ParseFloat(row[3], 64)
		cost, _ := strconv.ParseFloat(row[4], 64)
		for _, r := range o.History {
			if r.Accuracy >= acc && r.Avg <= cost && (r.Accuracy > acc || r.Avg < cost) {
				t.Errorf("front point %s (%v, %v) is dominated by %s (%v, %v)", row[2], acc, cost, r.Key, r.Accuracy, r.Avg)
			}
		}
	}
	if n == 0 {
		t.Error("no AVG front")
	}
}
