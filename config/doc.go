// Package config reads pimsync.conf, the configuration file described in
// docs/config.md (the scfg format of pimsync 0.5), into a typed Config.
//
// The file is read in two layers. The scfg layer (scfg.go) splits it into a tree of
// directives, each remembering the line it starts on; it accepts the one-line block
// form `password { cmd secret-tool lookup id me }` as a compatibility extension. The
// checker then validates every directive against per-block tables and fills Config,
// collecting every error instead of stopping at the first: Parse and Load return an
// *Errors whose message has one "file:line: message" line per problem. Warnings go to
// Config.Warnings; this package never prints anything.
//
// Values that may come from a `cmd` or `shell` block are Value fields. Parse runs no
// command: call Config.ResolveFor (or Config.ResolveStorages) at startup to run, in
// file order, the commands that the selected pairs need, then read values with
// Value.Get.
package config
