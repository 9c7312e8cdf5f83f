// Package search holds the search algorithms of fleetnas as pure
// functions of their inputs: controllers that propose choice vectors of a
// space (see package space) and learn from the rewards they are given, a
// Pareto archive of accuracy against each cost objective, and the 2-D
// hypervolume used to compare fronts. Nothing here reads files, trains or
// measures networks; callers feed rewards in (see package metric).
//
// Controllers:
//
//   - tunas: the REINFORCE controller of TuNAS (Bender et al., CVPR 2020),
//     one independent categorical distribution per decision;
//   - evolution: regularized (aging) evolution (Real et al., AAAI 2019);
//   - random: uniform sampling with replacement;
//   - exhaustive: every choice vector once, in lexicographic order.
//
// Every controller is deterministic: its proposals depend only on the seed
// and on the rewards it observed, never on timing or the number of CPUs,
// and MarshalState captures everything (including the random stream) so
// that a restored controller continues exactly where the saved one was.
package search
