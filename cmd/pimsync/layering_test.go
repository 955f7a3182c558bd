package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces the package layering of docs/ARCHITECTURE.md on non-test code:
// storage imports nothing of ours above it; status only storage; engine never the TUI,
// the CLI or Bubble Tea; the TUI never a concrete backend or the status database; only
// cmd/pimsync wires backends together; the presentation package engine/present is
// used by the front ends, never by the engine, and is the only one to import go-ical
// and go-vcard (display only: nothing they produce reaches a storage). Test-support
// packages named *test are exempt.
func TestLayering(t *testing.T) {
	const mod = "github.com/pimsync-go/pimsync"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	backends := []string{"storage/vdir", "storage/dav", "storage/davserver", "storage/caldav", "storage/carddav", "storage/webcal", "storage/memstore", "storage/davtest"}
	isBackend := func(p string) bool {
		for _, b := range backends {
			if p == b || strings.HasPrefix(p, b+"/") {
				return true
			}
		}
		return false
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod+"/")
		if fields[0] == mod {
			pkg = ""
		}
		if strings.HasSuffix(pkg, "test") && pkg != "storage/storagetest" && pkg != "storage/davtest" {
			continue // test-support packages (tui/internal/pagetest) build fixtures from backends
		}
		for _, imp := range fields[1:] {
			ours := strings.HasPrefix(imp, mod+"/")
			dep := strings.TrimPrefix(imp, mod+"/")
			bad := ""
			switch {
			case strings.HasPrefix(pkg, "storage"):
				if ours && !strings.HasPrefix(dep, "storage") {
					bad = "storage packages import nothing of ours outside storage/"
				}
			case pkg == "status":
				if ours && dep != "storage" {
					bad = "status imports only storage"
				}
			case pkg == "config":
				if ours {
					bad = "config imports nothing of ours"
				}
			case strings.HasPrefix(pkg, "engine"):
				if ours && (strings.HasPrefix(dep, "tui") || strings.HasPrefix(dep, "cmd") || isBackend(dep)) {
					bad = "engine imports no front end and no concrete backend"
				}
				if strings.HasPrefix(imp, "github.com/charmbracelet/") {
					bad = "engine never imports Bubble Tea"
				}
				if dep == "engine/present" && pkg != "engine/present" && pkg != "engine/control" {
					bad = "the engine produces values; only front ends (and the control socket, for remote ones) render them (engine/present)"
				}
			case strings.HasPrefix(pkg, "tui"):
				if ours && (isBackend(dep) || dep == "status" || strings.HasPrefix(dep, "cmd")) {
					bad = "the TUI never talks to a storage backend or the status database"
				}
			case strings.HasPrefix(pkg, "bench"):
				if ours && (strings.HasPrefix(dep, "tui") || strings.HasPrefix(dep, "cmd")) {
					bad = "benchmarks do not import front ends"
				}
			}
			switch {
			case (strings.HasPrefix(imp, "github.com/emersion/go-ical") || strings.HasPrefix(imp, "github.com/emersion/go-vcard")) && pkg != "engine/present":
				bad = "only engine/present decodes with go-ical and go-vcard, for display"
			}
			if bad != "" {
				t.Errorf("%s imports %s: %s", pkg, dep, bad)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d imports checked; go list output looks wrong:\n%s", checked, out)
	}
}

// TestNoTestCodeInTheProduct: the pimsync binary, and every package it could be built
// from, links neither Go's testing package nor net/http/httptest (the demo's server is
// storage/davserver; fault injection and the real-server harness stay in
// storage/davtest). Test-support packages (*test) and benchmark tools are exempt.
func TestNoTestCodeInTheProduct(t *testing.T) {
	const mod = "github.com/pimsync-go/pimsync"
	out, err := exec.Command("go", "list", "-deps", "./").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 || !strings.Contains(string(out), mod+"/storage/davserver") {
		t.Fatalf("go list -deps ./cmd/pimsync looks wrong:\n%s", out)
	}
	for _, d := range deps {
		if d == "testing" || d == "net/http/httptest" || strings.HasPrefix(d, "testing/") || d == mod+"/storage/davtest" {
			t.Errorf("the pimsync binary links %s", d)
		}
	}
	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, mod+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod+"/")
		if strings.HasSuffix(pkg, "test") || strings.HasPrefix(pkg, "bench/") {
			continue
		}
		for _, d := range fields[1:] {
			if d == "testing" || d == "net/http/httptest" {
				t.Errorf("product package %s links %s", pkg, d)
			}
		}
	}
}
