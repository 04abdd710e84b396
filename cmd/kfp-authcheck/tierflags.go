package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// tierFlags are the flags every registered tier asks for (clusters.Tier.Settings), offered by run and serve
// alike; the harness refuses a setting given for another tier than the chosen one.
type tierFlags struct {
	strs  map[string]*string
	bools map[string]*bool
}

func addTierFlags(f *pflag.FlagSet) *tierFlags {
	tf := &tierFlags{strs: map[string]*string{}, bools: map[string]*bool{}}
	for _, t := range clusters.All() {
		for _, s := range t.Settings() {
			if f.Lookup(s.Name) != nil {
				continue
			}
			if s.Bool {
				tf.bools[s.Name] = f.Bool(s.Name, s.Default == "true", s.Usage)
			} else {
				tf.strs[s.Name] = f.String(s.Name, s.Default, s.Usage)
			}
		}
	}
	return tf
}

// given are the settings set on the command line.
func (tf *tierFlags) given(changed func(string) bool) map[string]string {
	out := map[string]string{}
	for name, v := range tf.strs {
		if changed(name) {
			out[name] = *v
		}
	}
	for name, v := range tf.bools {
		if changed(name) {
			out[name] = strconv.FormatBool(*v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// tierHelp lists the registered tiers for --tier's help.
func tierHelp() string {
	var parts []string
	for _, t := range clusters.All() {
		parts = append(parts, fmt.Sprintf("%s (%s)", t.Name(), t.Summary()))
	}
	return strings.Join(parts, "; ")
}

// resolveProfile takes a built-in server profile's name, or the path of a profile file (a name ending in .yaml,
// .yml or .json, or with a path separator).
func resolveProfile(name string) (*profile.Profile, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == ".yaml" || ext == ".yml" || ext == ".json" || strings.ContainsRune(name, filepath.Separator) {
		return profile.Load(name)
	}
	return profile.Get(name)
}
