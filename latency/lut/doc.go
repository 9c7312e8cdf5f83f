// Package lut prices a network with a per-op latency lookup table: the
// network's latency is a constant plus the sum, over its blocks, of the
// table entry of each block's canonical op signature. This is the model of
// ProxylessNAS, Once-for-All and HW-NAS-Bench's FBNet tables; it is exact
// for devices whose numbers were built that way and a first-order estimate
// elsewhere (it ignores fusion and caching across blocks).
//
// A Signature is computed from a lowered arch.Graph, one per block: the
// arch block kind, input HxWxC, output channels, kernel, stride, expanded
// width, groups, squeeze-excite width, activation and whether the
// residual add is present, plus the few kind-specific fields that make two
// different ops different (UIB depthwise kernels, attention shape, a
// NAS-Bench-201 cell's edge ops...). Its canonical string form, documented
// on Signature.String, is the table key.
//
// Tables come from the embedded Once-for-All Note10 tables (Note10), the
// ProxylessNAS Pixel 1 table (Pixel1), the HW-NAS-Bench FBNet table
// (FBNet) or a user's CSV file (ReadCSV; format in docs/lut-csv.md), and
// can be saved with WriteCSV.
//
// Everything here is hand-written. The readers translate the upstream key
// formats (Once-for-All's and ProxylessNAS's latency_lookup_table.py
// query keys, HW-NAS-Bench's per-layer deltas) into signatures of arch
// blocks, following how those projects walk a network, so that a network
// built from arch blocks is priced exactly as the upstream estimator
// would price the same network; no upstream code is used.
package lut
