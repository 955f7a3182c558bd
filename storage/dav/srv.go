package dav

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// srvCandidates implements the DNS part of RFC 6764 (storages.md §2.1 step 3): the
// context URL candidates for host, best first. It returns an error only when the
// service is decidedly unavailable (a single SRV record with target ".").
func (s *Storage) srvCandidates(ctx context.Context, scheme, host string) ([]*url.URL, error) {
	if net.ParseIP(host) != nil {
		return nil, nil
	}
	r := s.opts.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	service := "caldav"
	if s.kind.Component() == "VCARD" {
		service = "carddav"
	}
	if scheme == "https" {
		service += "s"
	}
	_, recs, err := r.LookupSRV(ctx, service, "tcp", host)
	if err != nil || len(recs) == 0 {
		s.log.Debug("no SRV records", "service", service, "host", host, "err", err)
		return nil, nil
	}
	if len(recs) == 1 && (recs[0].Target == "." || recs[0].Target == "") {
		return nil, fmt.Errorf("storage %s: DNS says the %s service is not available for %s (SRV target \".\")",
			s.opts.Name, service, host)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Priority != recs[j].Priority {
			return recs[i].Priority < recs[j].Priority
		}
		return recs[i].Weight > recs[j].Weight
	})
	path := "/.well-known/" + strings.TrimSuffix(service, "s")
	if txts, err := r.LookupTXT(ctx, "_"+service+"._tcp."+host); err == nil {
		for _, t := range txts {
			if p, ok := strings.CutPrefix(strings.TrimSpace(t), "path="); ok && strings.HasPrefix(p, "/") {
				path = p
				break
			}
		}
	}
	var out []*url.URL
	for _, rec := range recs {
		target := strings.TrimSuffix(rec.Target, ".")
		if target == "" {
			continue
		}
		u, err := url.Parse(scheme + "://" + net.JoinHostPort(target, strconv.Itoa(int(rec.Port))))
		if err != nil {
			continue
		}
		if u, err = resolveHref(u, path); err == nil {
			out = append(out, u)
		}
	}
	return out, nil
}
