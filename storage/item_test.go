package storage

import (
	"strings"
	"testing"
)

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") }

func TestHashVector1(t *testing.T) {
	in := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "DTSTART:19970714T170000Z", "DTEND:19970715T035959Z",
		"SUMMARY:Bastille Day Party", "UID:11bb6bed-c29b-4999-a627-12dee35f8395", "END:VEVENT", "END:VCALENDAR")
	const want = "E6DF19EB84E6DCE351EFB015D25C76D31A1FE09F2A8732BE6BC565A01EFA1A41"
	if got := Hash(in); got != want {
		t.Fatalf("hash = %s, want %s", got, want)
	}
	if got := Hash("PRODID:test-client\r\n" + in); got != want {
		t.Fatalf("hash with PRODID = %s, want %s", got, want)
	}
	if got := Hash(in + "\r\n"); got != want {
		t.Fatalf("hash with final CRLF = %s, want %s", got, want)
	}
}

func TestHashVector2(t *testing.T) {
	const want = "9FCE34302FB7B6677542987089C91FDDF79F18F1D42862B03B1DEDF8E72F0CE2"
	a := crlf("DESCRIPTION:Voor meer informatie zie https://nluug.nl/evenementen/nluug/na", " jaarsconferentie-2023/")
	b := crlf("DESCRIPTION:Voor meer informatie zie https:", " //nluug.nl/evenementen/nluug/najaarsconferentie-2023/")
	if got := Hash(a); got != want {
		t.Fatalf("hash a = %s", got)
	}
	if got := Hash(b); got != want {
		t.Fatalf("hash b = %s", got)
	}
}
