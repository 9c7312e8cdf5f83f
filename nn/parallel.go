package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel work in this package follows one rule so that training gives
// the same bits on any core count: work is cut into tasks whose number
// and boundaries depend only on tensor shapes (never on GOMAXPROCS), each
// task writes only its own outputs, and partial sums (parameter gradients,
// batch statistics) are kept per task and added in task order afterwards.
// The scheduler then only decides which goroutine runs a task, which
// cannot change any result.

// maxTasks bounds the number of tasks of one reduction, and so the memory
// of the per-task partial sums.
const maxTasks = 64

// parallelFor runs fn(worker, i) for every task i in [0, n) on at most
// GOMAXPROCS goroutines. worker is in [0, workers(n)) and lets a task
// reuse per-worker scratch memory (which must not carry results between
// tasks).
func parallelFor(n int, fn func(worker, i int)) {
	w := workers(n)
	if w <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for worker := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(worker, i)
			}
		}()
	}
	wg.Wait()
}

// workers is the number of goroutines parallelFor uses for n tasks.
func workers(n int) int { return max(1, min(n, runtime.GOMAXPROCS(0))) }

// split cuts [0, total) into tasks of at least minSize elements and at
// most maxTasks tasks, from the sizes alone. It returns the task size; task
// i covers [i·size, min((i+1)·size, total)).
func split(total, minSize int) (size, tasks int) {
	if total <= 0 {
		return 1, 0
	}
	size = max(minSize, (total+maxTasks-1)/maxTasks, 1)
	return size, (total + size - 1) / size
}

// forRange runs fn(lo, hi) over [0, total) in tasks of at least minSize
// elements, in parallel; fn must write only inside its range.
func forRange(total, minSize int, fn func(lo, hi int)) {
	size, tasks := split(total, minSize)
	parallelFor(tasks, func(_, i int) {
		fn(i*size, min((i+1)*size, total))
	})
}
