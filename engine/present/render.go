package present

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/pimsync-go/pimsync/storage"
)

// Value renders the value of one unfolded content line as a person reads it: dates and
// times in local time (loc; nil is time.Local) with the time zone they were written
// in, durations and recurrence rules in words, attendees and the organiser as names
// with addresses, vCard names, emails, phones and addresses with their types, text
// unescaped. Parameters that are not rendered in words follow in brackets, sorted, so
// that their order never shows. card says the line is a vCard's.
//
// Lines are decoded with go-ical and go-vcard inside a recover guard (go-ical panics on
// some malformed lines); a line they cannot read is shown as its raw value and
// parameters. What they produce is only ever displayed.
func Value(line string, card bool, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	var out string
	ok := false
	func() {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		if card {
			out, ok = cardValue(line, loc)
		} else {
			out, ok = icalValue(line, loc)
		}
	}()
	if !ok {
		return rawValue(line)
	}
	return out
}

// Value renders one of the field's lines (see the function Value).
func (f *Field) Value(line string, loc *time.Location) string { return Value(line, f.Card(), loc) }

// rawValue is the fallback: the value as written, then the parameters as written.
func rawValue(line string) string {
	cl := storage.SplitLine(line)
	v := cl.Value
	if cl.Params != "" {
		v += "  [" + cl.Params + "]"
	}
	return v
}

// params renders the parameters left after the ones rendered in words, sorted by name.
func params(p map[string][]string, used ...string) string {
	skip := map[string]bool{}
	for _, u := range used {
		skip[u] = true
	}
	var keys []string
	for k := range p {
		if !skip[strings.ToUpper(k)] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		vals := make([]string, len(p[k]))
		for j, v := range p[k] {
			if strings.ContainsAny(v, ";:,") {
				v = `"` + v + `"`
			}
			vals[j] = v
		}
		parts[i] = strings.ToUpper(k) + "=" + strings.Join(vals, ",")
	}
	return "  [" + strings.Join(parts, ";") + "]"
}

// --- iCalendar ------------------------------------------------------------------

// icalProp decodes one content line with go-ical.
func icalProp(line string) (*ical.Prop, bool) {
	text := "BEGIN:VCALENDAR\r\nBEGIN:X-PIMSYNC\r\n" + line + "\r\nEND:X-PIMSYNC\r\nEND:VCALENDAR\r\n"
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil || len(cal.Children) != 1 {
		return nil, false
	}
	for _, ps := range cal.Children[0].Props {
		if len(ps) == 1 {
			p := ps[0]
			return &p, true
		}
	}
	return nil, false
}

func icalValue(line string, loc *time.Location) (string, bool) {
	p, ok := icalProp(line)
	if !ok {
		return "", false
	}
	switch p.Name {
	case ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDue, ical.PropRecurrenceID, ical.PropCompleted,
		ical.PropCreated, ical.PropDateTimeStamp, ical.PropLastModified, ical.PropExceptionDates, ical.PropRecurrenceDates:
		var out []string
		for _, v := range strings.Split(p.Value, ",") {
			one := *p
			one.Value = v
			s, ok := dateTimeValue(&one, loc)
			if !ok {
				return "", false
			}
			out = append(out, s)
		}
		return strings.Join(out, ", ") + params(p.Params, "TZID", "VALUE"), true
	case ical.PropTrigger:
		if p.ValueType() == ical.ValueDateTime {
			s, ok := dateTimeValue(p, loc)
			return s + params(p.Params, "VALUE"), ok
		}
		d, err := p.Duration()
		if err != nil {
			return "", false
		}
		rel := "the start"
		if strings.EqualFold(p.Params.Get("RELATED"), "END") {
			rel = "the end"
		}
		var s string
		switch {
		case d < 0:
			s = duration(-d) + " before " + rel
		case d > 0:
			s = duration(d) + " after " + rel
		default:
			s = "at " + rel
		}
		return s + params(p.Params, "RELATED", "VALUE"), true
	case ical.PropDuration, ical.PropRefreshInterval:
		d, err := p.Duration()
		if err != nil {
			return "", false
		}
		return duration(d) + params(p.Params, "VALUE"), true
	case ical.PropRecurrenceRule:
		s, ok := rrule(p)
		return s + params(p.Params), ok
	case ical.PropAttendee, ical.PropOrganizer:
		return person(p), true
	case ical.PropSummary, ical.PropDescription, ical.PropLocation, ical.PropComment, ical.PropCategories,
		ical.PropResources, ical.PropContact, ical.PropTimezoneName, ical.PropName:
		l, err := p.TextList()
		if err != nil {
			return "", false
		}
		return text(strings.Join(l, ", ")) + params(p.Params), true
	case ical.PropStatus, ical.PropClass, ical.PropAction:
		return strings.ToLower(p.Value) + params(p.Params), true
	case ical.PropTransparency:
		switch strings.ToUpper(p.Value) {
		case "OPAQUE":
			return "busy" + params(p.Params), true
		case "TRANSPARENT":
			return "free" + params(p.Params), true
		}
	}
	return p.Value + params(p.Params), true
}

// text shows line breaks of a text value as ⏎.
func text(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", " ⏎ ")
}

// dateTimeValue renders a DATE or DATE-TIME value: a date as "2025-01-08 Wed"; a floating
// time as "2025-01-08 Wed 16:00"; a time in a zone in local time, with the time as
// written in its zone when that is not the local one: "2025-01-08 Wed 15:00 CET (09:00
// America/New_York)". A TZID the system does not know is named after the time as
// written.
func dateTimeValue(p *ical.Prop, loc *time.Location) (string, bool) {
	v := p.Value
	if strings.EqualFold(p.Params.Get("VALUE"), "DATE") || len(v) == 8 {
		t, err := time.Parse("20060102", v)
		if err != nil {
			return "", false
		}
		return t.Format("2006-01-02 Mon"), true
	}
	tzid := p.Params.Get(ical.PropTimezoneID)
	utc := strings.HasSuffix(v, "Z")
	if tzid == "" && !utc {
		t, err := time.Parse("20060102T150405", v)
		if err != nil {
			return "", false
		}
		return clock(t, "2006-01-02 Mon"), true
	}
	t, err := p.DateTime(loc)
	if err != nil {
		if tzid == "" {
			return "", false
		}
		// A zone the system does not know (Outlook's "W. Europe Standard Time"):
		// the time as written, with the zone's name.
		w, err := time.Parse("20060102T150405", v)
		if err != nil {
			return "", false
		}
		return clock(w, "2006-01-02 Mon") + " " + tzid, true
	}
	local := t.In(loc)
	out := clock(local, "2006-01-02 Mon") + " " + zoneName(local)
	if t.Location().String() != loc.String() {
		name := t.Location().String()
		if name == "UTC" || utc {
			name = "UTC"
		}
		if name != zoneName(local) {
			layout := ""
			if t.Format("20060102") != local.Format("20060102") {
				layout = "2006-01-02 Mon"
			}
			out += " (" + strings.TrimSpace(clock(t, layout)) + " " + name + ")"
		}
	}
	return out, true
}

// clock formats a date (layout, may be "") and the time of day, with seconds only when
// there are some.
func clock(t time.Time, layout string) string {
	tl := "15:04"
	if t.Second() != 0 {
		tl = "15:04:05"
	}
	if layout == "" {
		return t.Format(tl)
	}
	return t.Format(layout + " " + tl)
}

// zoneName is the abbreviation of t's zone ("CET", "UTC"), or its offset.
func zoneName(t time.Time) string {
	name, _ := t.Zone()
	if name == "" {
		return t.Format("-07:00")
	}
	return name
}

// duration renders a duration in words: "1 day 2 h", "15 min", "1 week".
func duration(d time.Duration) string {
	if d == 0 {
		return "0 min"
	}
	var parts []string
	if w := d / (7 * 24 * time.Hour); w > 0 && d%(7*24*time.Hour) == 0 {
		return count(int(w), "week")
	}
	if days := d / (24 * time.Hour); days > 0 {
		parts = append(parts, count(int(days), "day"))
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 {
		parts = append(parts, fmt.Sprintf("%d s", s))
	}
	return strings.Join(parts, " ")
}

// count renders "1 unit" or "n units".
func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

var (
	dayNames = map[string]string{"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
		"FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
	freqWords = map[string][2]string{
		"YEARLY": {"yearly", "year"}, "MONTHLY": {"monthly", "month"}, "WEEKLY": {"weekly", "week"},
		"DAILY": {"daily", "day"}, "HOURLY": {"hourly", "hour"}, "MINUTELY": {"every minute", "minute"},
		"SECONDLY": {"every second", "second"},
	}
)

// rrule renders a recurrence rule in words: "weekly on Monday, Wednesday", "every 2
// weeks on Friday, 10 times", "monthly on the last Friday, until 2025-06-30". Parts
// without words (BYHOUR, BYWEEKNO, …) follow as written.
func rrule(p *ical.Prop) (string, bool) {
	props := ical.Props{}
	props.Add(p)
	r, err := props.RecurrenceRule()
	if err != nil || r == nil {
		return "", false
	}
	fw, ok := freqWords[r.Freq.String()]
	if !ok {
		return "", false
	}
	s := fw[0]
	if r.Interval > 1 {
		s = fmt.Sprintf("every %d %ss", r.Interval, fw[1])
	}
	if len(r.Bymonth) > 0 {
		var ms []string
		for _, m := range r.Bymonth {
			if m < 1 || m > 12 {
				return "", false
			}
			ms = append(ms, time.Month(m).String())
		}
		s += " in " + strings.Join(ms, ", ")
	}
	var on []string
	for _, wd := range r.Byweekday {
		w := wd.String() // "MO", "+1MO", "-1FR"
		code := w[len(w)-2:]
		name := dayNames[code]
		if n := strings.TrimSuffix(w, code); n != "" {
			k, err := strconv.Atoi(n)
			if err != nil {
				return "", false
			}
			name = "the " + ordinal(k) + " " + name
		}
		on = append(on, name)
	}
	for _, d := range r.Bymonthday {
		if d == -1 {
			on = append(on, "the last day")
		} else {
			on = append(on, "day "+strconv.Itoa(d))
		}
	}
	if len(on) > 0 {
		s += " on " + strings.Join(on, ", ")
	}
	if len(r.Bysetpos) > 0 {
		var ps []string
		for _, n := range r.Bysetpos {
			ps = append(ps, ordinal(n))
		}
		s += " (only the " + strings.Join(ps, ", ") + " of these)"
	}
	if r.Count > 0 {
		s += ", " + count(r.Count, "time")
	}
	if !r.Until.IsZero() {
		s += ", until " + r.Until.Format("2006-01-02")
	}
	var rest []string
	for _, part := range strings.Split(p.Value, ";") {
		k, _, _ := strings.Cut(part, "=")
		switch strings.ToUpper(k) {
		case "FREQ", "INTERVAL", "BYMONTH", "BYDAY", "BYMONTHDAY", "BYSETPOS", "COUNT", "UNTIL", "WKST", "":
		default:
			rest = append(rest, part)
		}
	}
	if len(rest) > 0 {
		s += " [" + strings.Join(rest, ";") + "]"
	}
	return s, true
}

func ordinal(n int) string {
	switch {
	case n == -1:
		return "last"
	case n < 0:
		return ordinal(-n) + " from last"
	case n%100 >= 11 && n%100 <= 13:
		return fmt.Sprintf("%dth", n)
	case n%10 == 1:
		return fmt.Sprintf("%dst", n)
	case n%10 == 2:
		return fmt.Sprintf("%dnd", n)
	case n%10 == 3:
		return fmt.Sprintf("%drd", n)
	}
	return fmt.Sprintf("%dth", n)
}

var (
	roles = map[string]string{"CHAIR": "chair", "REQ-PARTICIPANT": "required", "OPT-PARTICIPANT": "optional",
		"NON-PARTICIPANT": "for information"}
	partstats = map[string]string{"NEEDS-ACTION": "has not answered", "ACCEPTED": "accepted", "DECLINED": "declined",
		"TENTATIVE": "tentative", "DELEGATED": "delegated", "COMPLETED": "completed", "IN-PROCESS": "in process"}
)

// person renders an attendee or organiser: "Ann Example <ann@example.org> · chair ·
// accepted".
func person(p *ical.Prop) string {
	addr := p.Value
	if len(addr) > 7 && strings.EqualFold(addr[:7], "mailto:") {
		addr = addr[7:]
	}
	s := addr
	if cn := p.Params.Get(ical.ParamCommonName); cn != "" {
		s = cn + " <" + addr + ">"
	}
	used := []string{"CN"}
	if r, ok := roles[strings.ToUpper(p.Params.Get(ical.ParamRole))]; ok {
		s += " · " + r
		used = append(used, "ROLE")
	}
	if st, ok := partstats[strings.ToUpper(p.Params.Get(ical.ParamParticipationStatus))]; ok {
		s += " · " + st
		used = append(used, "PARTSTAT")
	}
	if strings.EqualFold(p.Params.Get(ical.ParamRSVP), "TRUE") {
		s += " · reply requested"
		used = append(used, "RSVP")
	} else if strings.EqualFold(p.Params.Get(ical.ParamRSVP), "FALSE") {
		used = append(used, "RSVP")
	}
	return s + params(p.Params, used...)
}

// --- vCard ----------------------------------------------------------------------

// cardField decodes one content line with go-vcard.
func cardField(line string) (string, *vcard.Field, bool) {
	text := "BEGIN:VCARD\r\n" + line + "\r\nEND:VCARD\r\n"
	card, err := vcard.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil || len(card) != 1 {
		return "", nil, false
	}
	for k, fs := range card {
		if len(fs) == 1 {
			return k, fs[0], true
		}
	}
	return "", nil, false
}

// cardText unescapes what go-vcard leaves escaped.
var cardText = strings.NewReplacer(`\;`, ";", `\N`, "\n", `\:`, ":")

func cardValue(line string, loc *time.Location) (string, bool) {
	name, f, ok := cardField(line)
	if !ok {
		return "", false
	}
	cl := storage.SplitLine(line)
	if f.Value == "" && cl.Value != "" {
		return "", false // parameters go-vcard misread (vCard 2.1 TEL;CELL:…)
	}
	p := f.Params
	switch name {
	case vcard.FieldName:
		n := strings.Split(f.Value, ";")
		get := func(i int) string {
			if i < len(n) {
				return strings.TrimSpace(cardText.Replace(n[i]))
			}
			return ""
		}
		var words []string
		for _, w := range []string{get(3), get(1), get(2), get(0), get(4)} { // prefix given additional family suffix
			if w != "" {
				words = append(words, w)
			}
		}
		return strings.Join(words, " ") + params(p), true
	case vcard.FieldAddress:
		a := strings.Split(f.Value, ";")
		get := func(i int) string {
			if i < len(a) {
				return strings.TrimSpace(text(cardText.Replace(a[i])))
			}
			return ""
		}
		var parts []string
		for _, s := range []string{get(0), get(1), get(2), strings.TrimSpace(get(5) + " " + get(3)), get(4), get(6)} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		return typed(p, strings.Join(parts, ", ")) + params(p, "TYPE", "LABEL"), true
	case vcard.FieldEmail, vcard.FieldTelephone, vcard.FieldURL, vcard.FieldIMPP:
		v := cardText.Replace(f.Value)
		if len(v) > 4 && strings.EqualFold(v[:4], "tel:") {
			v = v[4:]
		}
		return typed(p, v) + params(p, "TYPE", "PREF", "VALUE"), true
	case vcard.FieldBirthday, vcard.FieldAnniversary:
		if d, ok := cardDate(f.Value); ok {
			return d + params(p, "VALUE"), true
		}
	case vcard.FieldRevision:
		for _, layout := range []string{"20060102T150405Z", "2006-01-02T15:04:05Z"} {
			if t, err := time.Parse(layout, f.Value); err == nil {
				l := t.In(loc)
				return clock(l, "2006-01-02 Mon") + " " + zoneName(l) + params(p), true
			}
		}
	case vcard.FieldPhoto, vcard.FieldLogo, vcard.FieldSound, vcard.FieldKey:
		return media(strings.ToLower(name), p, cl.Value), true
	case vcard.FieldFormattedName, vcard.FieldNote, vcard.FieldTitle, vcard.FieldRole, vcard.FieldNickname,
		vcard.FieldCategories:
		return text(cardText.Replace(f.Value)) + params(p), true
	case vcard.FieldOrganization:
		var parts []string
		for _, s := range strings.Split(f.Value, ";") {
			if s = strings.TrimSpace(cardText.Replace(s)); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ") + params(p), true
	case "X-ABLABEL":
		v := f.Value
		if strings.HasPrefix(v, "_$!<") && strings.HasSuffix(v, ">!$_") {
			v = v[4 : len(v)-4]
		}
		return v + params(p), true
	}
	return text(cardText.Replace(f.Value)) + params(p), true
}

// typed prefixes a value with its types: "work, preferred: ann@example.org".
func typed(p vcard.Params, v string) string {
	var types []string
	for _, t := range p.Types() {
		switch t {
		case "internet", "voice", "x400":
			continue // what an email or a phone number is anyway
		case "pref":
			t = "preferred"
		}
		types = append(types, t)
	}
	if p.Get("PREF") != "" {
		types = append(types, "preferred")
	}
	if len(types) == 0 {
		return v
	}
	return strings.Join(types, ", ") + ": " + v
}

// cardDate renders a vCard date: 19850412, 1985-04-12, --0412 (no year).
func cardDate(v string) (string, bool) {
	for _, layout := range []string{"20060102", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02 Mon"), true
		}
	}
	if t, err := time.Parse("--0102", v); err == nil {
		return t.Format("2 January") + " (no year)", true
	}
	return "", false
}

// media describes a photo, logo, sound or key: "photo, JPEG, 12 kB" or its URL.
func media(what string, p vcard.Params, raw string) string {
	enc := strings.ToUpper(p.Get("ENCODING"))
	typ := strings.ToUpper(p.Get("TYPE"))
	var size int
	switch {
	case enc == "B" || enc == "BASE64":
		size = len(strings.TrimRight(raw, "=")) * 3 / 4
	case strings.HasPrefix(strings.ToLower(raw), "data:"):
		head, data, _ := strings.Cut(raw[5:], ",")
		mt, _, _ := strings.Cut(head, ";")
		if typ == "" {
			typ = strings.ToUpper(strings.TrimPrefix(strings.ToLower(mt), "image/"))
		}
		size = len(strings.TrimRight(data, "=")) * 3 / 4
	default:
		return what + ": " + raw
	}
	s := what
	if typ != "" {
		s += ", " + typ
	}
	switch {
	case size >= 1<<20:
		s += fmt.Sprintf(", %.1f MB", float64(size)/(1<<20))
	case size >= 1<<10:
		s += fmt.Sprintf(", %.1f kB", float64(size)/(1<<10))
	default:
		s += fmt.Sprintf(", %d bytes", size)
	}
	return s
}
