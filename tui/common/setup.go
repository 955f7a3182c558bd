package common

import "context"

// Setup is what the first-run page needs from outside the TUI when there is no
// configuration file: the CLI fills it in (the TUI itself never reads or writes a
// configuration).
type Setup struct {
	// ConfigPath is where the configuration is saved.
	ConfigPath string
	// Vdirsyncer is the vdirsyncer configuration found ("" when none).
	Vdirsyncer string
	// Convert converts the vdirsyncer configuration into pimsync.conf text.
	Convert func() (string, error)
	// Check checks a configuration text as `pimsync check` would (the configuration,
	// the credentials, every storage; a local folder that does not exist yet is
	// created), and returns what it found, one line per storage; err says why it
	// failed.
	Check func(ctx context.Context, text string) (report []string, err error)
	// Save writes the configuration text to ConfigPath (creating its directory).
	Save func(text string) error
	// DefaultFolder is the folder the form proposes for local data.
	DefaultFolder string
}
