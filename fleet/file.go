package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/linear"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/latency/roofline"
	"github.com/fleetnas/fleetnas/latency/table"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
	"go.yaml.in/yaml/v3"
)

// fileSpec is the top level of a fleet file.
type fileSpec struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Resolution  int         `yaml:"resolution"`
	Devices     []yaml.Node `yaml:"devices"`
}

// deviceSpec is one device of a fleet file; which fields apply depends on
// kind (docs/fleets.md).
type deviceSpec struct {
	Name      string     `yaml:"name"`
	From      string     `yaml:"from"`
	Kind      string     `yaml:"kind"`
	Weight    float64    `yaml:"weight"`
	Reference *Reference `yaml:"reference"`
	// table
	Space        string `yaml:"space"`
	Measurements string `yaml:"measurements"`
	// lut
	Table   string `yaml:"table"`
	Builtin string `yaml:"builtin"`
	// roofline / calibrated
	Params     yaml.Node `yaml:"params"`
	ParamsFile string    `yaml:"params_file"`
	// linear
	ModelFile string `yaml:"model_file"`
}

// ReadFile reads and resolves a fleet file (JSON or YAML).
func ReadFile(path string, z *zoo.Zoo) (*Fleet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Read(b, path, filepath.Dir(path), z)
}

// Read parses a fleet file's contents; name labels errors and dir is where
// relative paths in the file are resolved.
func Read(b []byte, name, dir string, z *zoo.Zoo) (*Fleet, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty fleet file", name)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var spec fileSpec
	if err := strictDecode(&root, &spec); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if spec.Name == "" {
		return nil, fmt.Errorf("%s: field name: required", name)
	}
	if spec.Resolution < 0 || spec.Resolution > 8192 {
		return nil, fmt.Errorf("%s: field resolution: must be in 1..8192 (or absent), got %d", name, spec.Resolution)
	}
	if len(spec.Devices) == 0 {
		return nil, fmt.Errorf("%s: field devices: a fleet needs at least one device", name)
	}
	f := &Fleet{Name: spec.Name, Description: spec.Description, Resolution: spec.Resolution}
	builtinCache := map[string]*Fleet{}
	for i := range spec.Devices {
		node := &spec.Devices[i]
		var ds deviceSpec
		if err := strictDecode(node, &ds); err != nil {
			return nil, fmt.Errorf("%s: device %d: %v", name, i, err)
		}
		d, err := buildDevice(ds, dir, z, builtinCache)
		if err != nil {
			label := ds.Name
			if label == "" {
				label = fmt.Sprint(i)
			}
			return nil, fmt.Errorf("%s:%d: device %s: %w", name, node.Line, label, err)
		}
		f.Devices = append(f.Devices, d)
	}
	if err := f.Resolve(z); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// strictDecode decodes a node rejecting unknown fields, so that a typo in
// a fleet file is an error and not a silently ignored setting.
func strictDecode(n *yaml.Node, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return errors.New("empty document")
	}
	if err != nil {
		// Line numbers of the re-encoded node are relative to the node;
		// shift them so they point into the user's file.
		return shiftLines(err, n.Line-1)
	}
	return nil
}

func shiftLines(err error, by int) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || by <= 0 {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		var line int
		var rest string
		if _, e := fmt.Sscanf(m, "line %d:", &line); e == nil {
			rest = m[strings.Index(m, ":")+1:]
			m = fmt.Sprintf("line %d:%s", line+by, rest)
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func buildDevice(ds deviceSpec, dir string, z *zoo.Zoo, cache map[string]*Fleet) (*Device, error) {
	if ds.Name == "" {
		return nil, errors.New("field name: required")
	}
	if ds.From != "" {
		if ds.Kind != "" {
			return nil, errors.New("give either from (a built-in fleet's device) or kind, not both")
		}
		fl, dev, _ := strings.Cut(ds.From, "/")
		if dev == "" {
			dev = ds.Name
		}
		src, ok := cache[fl]
		if !ok {
			var err error
			if src, err = Builtin(fl, z); err != nil {
				return nil, fmt.Errorf("field from: %w", err)
			}
			cache[fl] = src
		}
		d, err := src.Device(dev)
		if err != nil {
			return nil, fmt.Errorf("field from: %w", err)
		}
		c := *d
		c.Name, c.Weight = ds.Name, ds.Weight
		if ds.Reference != nil {
			c.Ref = *ds.Reference
		}
		return &c, nil
	}
	if ds.Reference == nil {
		return nil, errors.New("field reference: required (target_ms, model, or space and choice)")
	}
	d := &Device{Name: ds.Name, Kind: ds.Kind, Weight: ds.Weight, Ref: *ds.Reference}
	switch ds.Kind {
	case "table":
		if ds.Space == "" || ds.Measurements == "" {
			return nil, errors.New("a table device needs space and measurements (a CSV of arch,latency_ms)")
		}
		sp, err := space.Get(ds.Space)
		if err != nil {
			return nil, fmt.Errorf("field space: %w", err)
		}
		path := resolvePath(dir, ds.Measurements)
		m, err := latency.ReadMeasurementsFile(path, sp)
		if err != nil {
			return nil, fmt.Errorf("field measurements: %w", err)
		}
		t, err := table.New(ds.Name, sp, m)
		if err != nil {
			return nil, err
		}
		d.Model, d.Source = t, path
		d.Accuracy = latency.Exact("measured table: exact for the networks it holds, no others", t.Len())
	case "roofline", "calibrated":
		if err := rooflineDevice(d, ds, dir); err != nil {
			return nil, err
		}
	case "lut":
		var t *lut.Table
		switch {
		case (ds.Table == "") == (ds.Builtin == ""):
			return nil, errors.New("a lut device needs exactly one of table (a CSV, docs/lut-csv.md) or builtin (note10_160..note10_224, pixel1, fbnet_pixel3, fbnet_raspi4, fbnet_eyeriss, fbnet_fpga)")
		case ds.Table != "":
			path := resolvePath(dir, ds.Table)
			var err error
			if t, err = lut.ReadCSVFile(path); err != nil {
				return nil, fmt.Errorf("field table: %w", err)
			}
			d.Source = path
		default:
			var err error
			if t, err = builtinLUT(ds.Builtin); err != nil {
				return nil, fmt.Errorf("field builtin: %w", err)
			}
			d.Source = t.Source
		}
		d.Model = t
		d.Accuracy = latency.Accuracy{Method: "per-op table; whole-network error not known (validate it against measurements)"}
	case "linear":
		if ds.Space == "" || ds.ModelFile == "" {
			return nil, errors.New("a linear device needs space and model_file (a model file saved by calibrate's linear kind)")
		}
		sp, err := space.Get(ds.Space)
		if err != nil {
			return nil, fmt.Errorf("field space: %w", err)
		}
		path := resolvePath(dir, ds.ModelFile)
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("field model_file: %w", err)
		}
		defer fh.Close()
		m, err := linear.Load(fh, sp)
		if err != nil {
			return nil, fmt.Errorf("field model_file: %s: %w", path, err)
		}
		d.Model, d.Source, d.Accuracy = m, path, m.Accuracy
	case "":
		return nil, errors.New("field kind: required (table, lut, roofline, calibrated, linear), or from: FLEET[/DEVICE]")
	default:
		return nil, fmt.Errorf("field kind: unknown device kind %q; one of table, lut, roofline, calibrated, linear", ds.Kind)
	}
	return d, nil
}

// rooflineDevice loads a roofline from inline params or from a device file
// written by calibrate's roofline kind (roofline.WriteJSON).
func rooflineDevice(d *Device, ds deviceSpec, dir string) error {
	inline := ds.Params.Kind != 0
	if inline == (ds.ParamsFile != "") {
		return errors.New("a roofline device needs exactly one of params (inline) or params_file (a saved device)")
	}
	if inline {
		// Decode through JSON so that unknown parameter names are errors
		// and the field names are the ones the saved files use.
		var v any
		if err := ds.Params.Decode(&v); err != nil {
			return fmt.Errorf("field params: %v", err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("field params: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		var p roofline.Params
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("field params (line %d): %v", ds.Params.Line, err)
		}
		m, err := roofline.New(p)
		if err != nil {
			return fmt.Errorf("field params (line %d): %w", ds.Params.Line, err)
		}
		d.Model, d.Source = m, "roofline parameters in the fleet file"
		d.Accuracy = latency.Accuracy{Method: "hand-set roofline parameters"}
		return nil
	}
	path := resolvePath(dir, ds.ParamsFile)
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("field params_file: %w", err)
	}
	defer fh.Close()
	rd, err := roofline.ReadJSON(fh)
	if err != nil {
		return fmt.Errorf("field params_file: %s: %w", path, err)
	}
	d.Model, d.Source, d.Accuracy = rd.Model, path, rd.Accuracy
	return nil
}

// builtinLUT opens an embedded table by name.
func builtinLUT(name string) (*lut.Table, error) {
	switch {
	case name == "pixel1":
		return lut.Pixel1()
	case strings.HasPrefix(name, "note10_"):
		var r int
		if _, err := fmt.Sscanf(name, "note10_%d", &r); err != nil {
			return nil, fmt.Errorf("unknown table %q", name)
		}
		return lut.Note10(r)
	case strings.HasPrefix(name, "fbnet_"):
		return lut.FBNet(strings.TrimPrefix(name, "fbnet_"))
	}
	return nil, fmt.Errorf("unknown built-in table %q; one of note10_160, note10_176, note10_192, note10_208, note10_224, pixel1, fbnet_pixel3, fbnet_raspi4, fbnet_eyeriss, fbnet_fpga", name)
}
