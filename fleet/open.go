package fleet

import (
	"os"
	"strings"

	"github.com/fleetnas/fleetnas/zoo"
)

// Open returns the fleet nameOrFile names: a fleet file when it looks
// like a path (it holds "." or "/") or a file of that name exists, a
// built-in fleet otherwise.
func Open(nameOrFile string, z *zoo.Zoo) (*Fleet, error) {
	if _, err := os.Stat(nameOrFile); err == nil || strings.ContainsAny(nameOrFile, "./") {
		return ReadFile(nameOrFile, z)
	}
	return Builtin(nameOrFile, z)
}
