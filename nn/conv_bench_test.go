package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkConv3x3 times a MobileNet-sized 3×3 convolution, 56×56×64 to
// 64 channels at batch 32, forward and backward, in GFLOP/s of
// multiply-adds (2 FLOPs each; backward counts the input and weight
// gradients, twice the forward).
func BenchmarkConv3x3(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	c := must(NewConv2D("c", 64, 64, 3, 1, 1, false))
	c.Init(r)
	x := randTensor(r, 32, 56, 56, 64)
	flops := 2.0 * 32 * 56 * 56 * 64 * 64 * 9
	b.Run(gemmBackend+"/forward", func(b *testing.B) {
		for b.Loop() {
			c.Forward(true, x)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	y := c.Forward(true, x)
	b.Run(gemmBackend+"/backward", func(b *testing.B) {
		for b.Loop() {
			c.Backward(y)
		}
		b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkDepthwise3x3 times a 3×3 depthwise convolution on 56×56×144 at
// batch 32, forward, in GFLOP/s.
func BenchmarkDepthwise3x3(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	d := must(NewDepthwise("d", 144, 3, 1, false))
	d.Init(r)
	x := randTensor(r, 32, 56, 56, 144)
	for b.Loop() {
		d.Forward(true, x)
	}
	b.ReportMetric(2*32*56*56*144*9*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
