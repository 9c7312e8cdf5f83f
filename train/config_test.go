package train

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/fleetnas/fleetnas/setting"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	// The zero optimizer name is sgd, as optimizer() reads it.
	c := DefaultConfig()
	c.Optimizer = ""
	if err := c.Validate(); err != nil {
		t.Errorf("empty optimizer: %v", err)
	}
}

// TestValidateNamesTheSetting breaks one setting of DefaultConfig at a
// time and expects a *setting.Error naming that setting's JSON field.
func TestValidateNamesTheSetting(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		setting string
		set     func(*Config)
	}{
		{"epochs", func(c *Config) { c.Epochs = 0 }},
		{"epochs", func(c *Config) { c.Epochs = -1 }},
		{"epochs", func(c *Config) { c.Epochs = maxEpochs + 1 }},
		{"batch", func(c *Config) { c.Batch = 0 }},
		{"batch", func(c *Config) { c.Batch = maxBatch + 1 }},
		{"lr", func(c *Config) { c.LR = 0 }},
		{"lr", func(c *Config) { c.LR = -0.1 }},
		{"lr", func(c *Config) { c.LR = nan }},
		{"lr", func(c *Config) { c.LR = inf }},
		{"lr", func(c *Config) { c.LR = 50 }},
		{"optimizer", func(c *Config) { c.Optimizer = "lamb" }},
		{"optimizer", func(c *Config) { c.Optimizer = "SGD" }},
		{"weight_decay", func(c *Config) { c.WeightDecay = -4e-5 }},
		{"weight_decay", func(c *Config) { c.WeightDecay = nan }},
		{"weight_decay", func(c *Config) { c.WeightDecay = 1 }},
		{"label_smoothing", func(c *Config) { c.LabelSmoothing = -0.1 }},
		{"label_smoothing", func(c *Config) { c.LabelSmoothing = 1 }},
		{"label_smoothing", func(c *Config) { c.LabelSmoothing = nan }},
		{"warmup_epochs", func(c *Config) { c.WarmupEpochs = -1 }},
		{"warmup_epochs", func(c *Config) { c.WarmupEpochs = nan }},
		{"warmup_epochs", func(c *Config) { c.WarmupEpochs = float64(c.Epochs) + 0.5 }},
		{"crop_pad", func(c *Config) { c.Pad = -2 }},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		err := cfg.Validate()
		var se *setting.Error
		if !errors.As(err, &se) || se.Name != c.setting {
			t.Errorf("%+v: error %v, want one about %s", cfg, err, c.setting)
		}
	}
}

// TestRunValidates: Run refuses an invalid configuration before training,
// and a crop padding as large as the input, which Validate cannot know.
func TestRunValidates(t *testing.T) {
	m, err := Build(tinyNet(), 0, 1) // 8x8 input
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		setting string
		set     func(*Config)
	}{
		{"epochs", func(c *Config) { c.Epochs = -1 }},
		{"optimizer", func(c *Config) { c.Optimizer = "lamb" }},
		{"crop_pad", func(c *Config) { c.Pad = 8 }},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		_, err := Run(context.Background(), m, nil, cfg, "", Hooks{})
		var se *setting.Error
		if !errors.As(err, &se) || se.Name != c.setting {
			t.Errorf("%+v: error %v, want one about %s", cfg, err, c.setting)
		}
	}
}
