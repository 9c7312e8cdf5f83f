// Package supernet trains one network that holds every choice of a search
// space, the weight-sharing half of a TuNAS-style one-shot search (Bender
// et al., "Can Weight Sharing Outperform Random Architecture Search? An
// Investigation With TuNAS", CVPR 2020).
//
// # Weight sharing by gather and scatter
//
// A Supernet keeps one full-size tensor per structural slot of the space
// (the stem conv, each stage layer's expand conv, its depthwise conv, its
// projection, the head convs, the classifier, and the batch-norm scale and
// shift after each of them), sized for the widest choice: the largest
// width, the largest expansion and the largest kernel. A candidate network
// (one choice vector) is built as an ordinary train.Model; before it runs,
// Gather copies into each of its parameters the leading sub-block of the
// matching shared tensor (the first in' input and out' output channels of
// a [k][k][in][out] conv kernel, the first C' channels of a [k][k][C]
// depthwise kernel, and so on), and after its backward pass Scatter adds
// its gradients back at the same positions. This is exactly TuNAS's
// channel masking (a masked kernel multiplies the padded channels by zero,
// so they neither contribute to the output nor receive gradient), computed
// on the candidate's own smaller tensors instead of masked full-size ones.
// Width and expansion choices therefore share the first N filters of the
// widest tensor. Kernel sizes share one depthwise tensor of the largest
// kernel, a smaller kernel being its centre, as Once-for-All's elastic
// kernels (Cai et al., ICLR 2020); TuNAS gives each kernel its own weights,
// which works for it because its op warmup runs all kernels at once (see
// Warmup). A skipped layer simply uses none of its slots.
//
// An expansion-1 op has no expand conv, so its depthwise conv reads the
// layer's input instead of expanded features, through the same leading
// channels. Giving it separate weights was tried and learned more slowly
// (Fashion-MNIST, 300 steps of candidates drawing expansion 1 at random:
// 22% training accuracy with separate weights, 44% shared).
//
// # Slots and names
//
// The supernet finds its slots from typed structure, never from names: the
// space's space.MobileStructure says which decision chooses each width,
// the stem's separable conv and each stage layer, and what every choice
// means (a channel count, skip, or a kernel and an expansion); train.Build
// says, for each parameter of a candidate, the lowered layer it belongs
// to and its train.Role (weight, bias, batch-norm scale or shift).
//
// Slots are named after where they sit, e.g. "stem.conv", "stem.sep.project",
// "stage3.layer2.expand", "stage3.layer2.depthwise", "head.conv1",
// "head.fc"; a shared parameter is the slot name followed by a suffix for
// its role: "w", "b", "bn.gamma" or "bn.beta". Supernet weight files key
// on these names, so they are fixed; the suffixes are the same as those of
// train.Build's parameter names.
//
// # Batch normalisation
//
// Batch norm always uses the statistics of the batch it normalises, in
// training and when a candidate is evaluated for the controller's reward.
// This is what TuNAS does during a search (its masked batch norm is
// stateless: tunas/rematlib/layers.py, MaskedStatelessBatchNorm), and it
// avoids moving averages that would mix the statistics of every candidate
// that shared a slot. The scale and shift are shared like the weights. A
// consequence is that evaluation batches should hold at least a few dozen
// images: the BN after the head's post-pool 1x1 conv normalises over the
// batch alone.
//
// # Proxy training
//
// Config.ProxyWidth scales every conv filter count of the candidate (stem,
// stage widths, head; not the classifier) by arch.ScaleFilters, and the
// supernet trains at the data's own resolution (Config.Resolution). Only
// the training network is scaled: cost and latency of a candidate are
// computed on the deployment network space.Space.Network returns.
//
// # Warmup
//
// Warmup follows TuNAS's op and filter warmup for the first part of a
// search (25% of the steps by default), with the largest op standing in
// for TuNAS's all-ops mixture; see Warmup and WarmupChoice.
//
// Only spaces that describe their networks as a space.Mobile (multihw) are
// supported; New and Supported say so for the others.
package supernet
