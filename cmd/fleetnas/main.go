// Command fleetnas finds one neural network that is fast on every device of
// a fleet while staying accurate. Run `fleetnas --help` for the commands.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := execute(newRoot(os.Stdout, os.Stderr)); err != nil {
		fmt.Fprintln(os.Stderr, "fleetnas:", err)
		os.Exit(1)
	}
}

// execute runs the command line and returns its error with the settings
// it names translated into the flags that set them.
func execute(root *cobra.Command) error {
	cmd, err := root.ExecuteC()
	return flagErrors(cmd, err)
}

// newRoot builds the command tree writing to the given streams; tests run
// it in-process.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "fleetnas",
		Short: "Multi-hardware neural architecture search for a fleet of devices",
		Long: `fleetnas finds one neural network that is fast on every device of a fleet
(phone CPU, GPU, DSP, EdgeTPU, ...) while staying accurate, after
"Discovering Multi-Hardware Mobile Models via Architecture Search"
(Chu et al., 2020) and TuNAS (Bender et al., 2020).

Networks come from the reference zoo (--model), a JSON file (--arch) or a
search space and a choice string (--space, --choice).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newModelsCmd(), newCostCmd(), newArchCmd(), newSpaceCmd(), newFleetCmd(), newLatencyCmd(), newCalibrateCmd(), newSearchCmd(), newBenchCmd(), newTrainCmd(), newEvalCmd(), newExportCmd(), newMeasureCmd(), newProfileCmd(), newValidateCmd())
	return root
}
