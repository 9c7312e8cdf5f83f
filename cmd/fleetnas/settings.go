package main

import (
	"github.com/fleetnas/fleetnas/setting"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// settingAnnotation is the flag annotation that names the library setting
// a flag sets, so that an error about the setting can name the flag.
const settingAnnotation = "fleetnas-setting"

// bindSetting records that flag sets the library setting named setting
// (as setting.Error names it, e.g. "supernet.proxy_width").
func bindSetting(fs *pflag.FlagSet, flag, name string) {
	if err := fs.SetAnnotation(flag, settingAnnotation, []string{name}); err != nil {
		panic("bindSetting: " + err.Error()) // a programming error: the flag is not registered
	}
}

// flagErrors rewrites the setting an error names (see package setting)
// as the flag of cmd bound to it, so that a user reads "--proxy-width:
// must be in (0, 1]" and not the library's "supernet.proxy_width: ...".
// Settings without a flag of their own keep their name.
func flagErrors(cmd *cobra.Command, err error) error {
	if err == nil || cmd == nil {
		return err
	}
	flags := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		for _, s := range f.Annotations[settingAnnotation] {
			flags[s] = "--" + f.Name
		}
	})
	return setting.Translate(err, func(s string) string { return flags[s] })
}
