package main

// A choice per property (issue 11 item 1): the composition of both versions that the
// TUI uploads through engine.Compose, against real servers that re-serialise what they
// store, leaves no new conflict on the next sync and a no-op after it.

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/merge"
)

func TestComposeRealServers(t *testing.T) {
	for _, server := range []string{"radicale", "xandikos"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			e := newDavEnv(t, srv, "calendar")
			local := "a/" + e.id + "/standup.ics"
			base := event("standup", "Standup", "DTEND:20240102T101500Z", "LOCATION:Room 1",
				"DESCRIPTION:A long description of the meeting that a client folded over more t",
				" han one line",
				`ATTENDEE;CN="Ann, the lead";ROLE=CHAIR:mailto:ann@example.org`,
				"ATTENDEE;CN=Bob:mailto:bob@example.org",
				"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M", "DESCRIPTION:Standup", "END:VALARM")
			e.write(local, base)
			e.mustRun(0, "sync")
			// Local: a new summary, another attendee, an earlier alarm. Server: a new
			// room and description, Bob removed.
			e.write(local, strings.NewReplacer("SUMMARY:Standup\r\n", "SUMMARY:Daily standup\r\n",
				"ATTENDEE;CN=Bob:mailto:bob@example.org\r\n", "ATTENDEE;CN=Bob:mailto:bob@example.org\r\nATTENDEE;CN=Cy:mailto:cy@example.org\r\n",
				"TRIGGER:-PT10M", "TRIGGER:-PT15M").Replace(e.read(local)))
			href := e.serverHref("standup")
			onServer := e.serverItems()[href]
			edited := strings.Replace(onServer, "Room 1", "Room 2", 1)
			edited = strings.Replace(edited, "ATTENDEE;CN=Bob:mailto:bob@example.org\r\n", "", 1)
			if edited == onServer || strings.Contains(edited, "bob@") {
				t.Fatalf("the server's copy is not what the test edits:\n%s", onServer)
			}
			e.put(href, edited, nil)
			e.mustRun(3, "sync") // a conflict, nothing written

			// In process, as the TUI does: read both versions, choose per property,
			// upload the composition.
			var logs bytes.Buffer
			a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &logs, ctx: t.Context(),
				isTerminal: func(any) bool { return false }, configPath: e.cfg}
			ws, err := a.open(nil)
			if err != nil {
				t.Fatal(err)
			}
			eng, pairs := ws.engine(nil), ws.enginePairs()
			cs := eng.Plan(t.Context(), pairs)[0].Conflicts()
			if len(cs) != 1 {
				t.Fatalf("conflicts: %v\n%s", cs, logs.String())
			}
			shown, err := eng.Refetch(t.Context(), cs[0])
			if err != nil {
				t.Fatal(err)
			}
			rows, err := merge.Align(shown.A.Item.Text(), shown.B.Item.Text())
			if err != nil {
				t.Fatal(err)
			}
			choices := merge.Choices{}
			for _, r := range rows {
				switch {
				case r.Part == "":
				case r.Name == "SUMMARY" || r.Name == "TRIGGER":
					choices[r.Part] = merge.PickA
				case r.Name == "LOCATION":
					choices[r.Part] = merge.PickB
				case r.Name == "ATTENDEE":
					choices[r.Part] = merge.PickBoth
				default:
					t.Logf("%s %s: a's (the default)", strings.Join(r.Path, "/"), r.Name)
				}
			}
			_, sides, err := eng.Resolve(t.Context(), cs[0], engine.Compose{Choices: choices, Shown: shown})
			if err != nil || len(sides) != 2 {
				t.Fatalf("resolve: sides %v, %v\n%s", sides, err, logs.String())
			}
			got := e.read(local)
			for _, want := range []string{"SUMMARY:Daily standup\r\n", "LOCATION:Room 2\r\n", "TRIGGER:-PT15M\r\n",
				"ann@example.org", "ATTENDEE;CN=Bob:mailto:bob@example.org\r\n", "ATTENDEE;CN=Cy:mailto:cy@example.org\r\n",
				"DESCRIPTION:A long description of the meeting that a client folded over more t\r\n han one line\r\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("the composition lacks %q:\n%s", want, got)
				}
			}
			for _, want := range []string{"Daily standup", "Room 2", "-PT15M", "cy@example.org", "bob@example.org"} {
				if !strings.Contains(e.serverItems()[href], want) {
					t.Errorf("the server's copy lacks %q:\n%s", want, e.serverItems()[href])
				}
			}

			// The next sync records it: no conflict, nothing written; then a no-op.
			r := e.mustRun(0, "-v", "debug", "sync")
			if c := httpCounts(r.stderr); c["PUT"] != 0 || c["DELETE"] != 0 || strings.Contains(r.stdout+r.stderr, "conflict") {
				t.Errorf("the sync after the choice wrote or found a conflict (%v):\n%s", c, r)
			}
			before := e.snapshot()
			r = e.mustRun(0, "-v", "debug", "sync")
			e.assertUnchanged(before)
			if c := httpCounts(r.stderr); c["PUT"] != 0 || r.stdout != "" {
				t.Errorf("not a no-op (%v):\n%s", c, r.stdout)
			}
		})
	}
}
