// Package arch is fleetnas's description of a neural network: an ordered list
// of blocks (convolutions, MobileNet inverted bottlenecks and their fused,
// Tucker and universal variants, attention, NAS-Bench-201 cells, pooling and a
// classifier), a stable JSON form that users can write by hand, validation
// with errors that name the block index and the field, and shape inference
// that lowers a network at any input resolution into a graph of primitive
// layers.
//
// Every other part of fleetnas reads networks through this package: cost
// accounting (package cost), device latency models, search spaces and the
// training engine. The lowering follows TensorFlow Model Garden's MobileNet
// blocks (official/vision/modeling/layers/nn_blocks.py) exactly, because the
// reference models and their published parameter counts come from there;
// width rounding is Model Garden's make_divisible.
//
// The package is written by hand: no Go library describes MobileNet-style
// networks at this level of detail.
package arch
