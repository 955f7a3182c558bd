package merge

import "strings"

// CopyMark is appended to the SUMMARY (calendars) or FN (contacts) of a conflict copy.
const CopyMark = " (conflict copy)"

// Copy returns text as an independent item: every UID property says uid, and every
// SUMMARY and FN value ends with CopyMark. All other lines stay byte for byte.
func Copy(text, uid string) string {
	var b strings.Builder
	for _, raw := range contentLines(text) {
		name, _, _ := strings.Cut(raw[0], ":")
		name = strings.ToUpper(strings.SplitN(name, ";", 2)[0])
		switch name {
		case "UID":
			b.WriteString("UID:" + uid + "\r\n")
			continue
		case "SUMMARY", "FN":
			// Append the mark to the last physical line, so the folding stays.
			last := len(raw) - 1
			for k, l := range raw {
				b.WriteString(l)
				if k == last {
					b.WriteString(CopyMark)
				}
				b.WriteString("\r\n")
			}
			continue
		}
		for _, l := range raw {
			b.WriteString(l + "\r\n")
		}
	}
	return b.String()
}
