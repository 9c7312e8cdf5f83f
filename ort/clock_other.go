//go:build !linux

package ort

import (
	"errors"
	"time"
)

// threadCPUTime is only available on Linux.
func threadCPUTime() (time.Duration, error) {
	return 0, errors.New("ort: the thread CPU clock is only available on Linux")
}
