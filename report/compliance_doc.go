package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/internal/human"
)

const pciSource = "PCI DSS v4.0.1"

func (c *Compliance) document() *document {
	d := &document{Title: "Daily log review: VPC Flow Logs"}
	period := strings.Join(dayRange(c.Days), " to ")
	d.Subtitle = "PCI DSS v4.0 requirement 10.4.1 (v3.2.1: 10.6.1), for " + period + " (UTC)"
	scope := "every record in the lake"
	if len(c.Scope.CDE) > 0 {
		scope = "cardholder data environment: records to or from " + strings.Join(c.Scope.CDE, ", ") + ", and the interfaces carrying them"
	}
	d.Meta = [][2]string{
		{"Period", c.From.Format(time.RFC3339) + " to " + c.To.Format(time.RFC3339)},
		{"Scope", scope},
		{"Records reviewed", num(c.Coverage.Records)},
		{"Exceptions requiring follow-up", num(int64(len(c.Exceptions)))},
		{"Generated", c.GeneratedAt.Format(time.RFC3339) + " by flowlens report compliance"},
	}
	top := c.top

	req := section{ID: "requirements", Title: "Requirements and evidence"}
	for _, r := range c.Requirements {
		ref := "Requirement " + r.ID
		if r.Formerly != "" {
			ref += " (v3.2.1: " + r.Formerly + ")"
		}
		req.Blocks = append(req.Blocks, quote{Ref: ref, Text: r.Text, Source: pciSource, Evidence: r.Evidence})
	}
	d.Sections = append(d.Sections, req)

	// Coverage.
	cv := c.Coverage
	cov := section{ID: "coverage", Title: "Coverage: which sources logged"}
	if cv.Records == 0 {
		msg := "No flow logs for this day: the lake holds no record of " + period + "."
		if len(c.Days) > 1 {
			msg = "No flow logs for these days: the lake holds no record from " + period + "."
		}
		cov.Blocks = append(cov.Blocks, para{Text: msg, Tone: "warn"})
	} else {
		cov.Blocks = append(cov.Blocks, para{Text: fmt.Sprintf("%s records (%s OK, %s NODATA, %s SKIPDATA) from %s interface(s) in %s VPC(s) of %s account(s).",
			num(cv.Records), num(cv.OK), num(cv.NoData), num(cv.SkipData), num(int64(len(cv.Interfaces))), num(int64(len(cv.VPCs))), num(int64(len(cv.Accounts))))})
		ch := chart{Title: "Records per hour (UTC)"}
		for _, h := range cv.Hours {
			label := h.Hour.Format("15h")
			if len(c.Days) > 1 {
				label = h.Hour.Format("01-02 15h")
			}
			ch.Labels = append(ch.Labels, label)
			ch.Values = append(ch.Values, float64(h.Records))
		}
		cov.Blocks = append(cov.Blocks, ch)
		at := newTable("Accounts", "account", "interfaces>", "records>", "share>")
		for _, a := range cv.Accounts {
			at.add(false, a.Name, num(int64(a.Interfaces)), num(a.Records), pct(a.Records, cv.Records))
		}
		vt := newTable("VPCs", "vpc", "interfaces>", "records>", "share>")
		for _, v := range cv.VPCs {
			vt.add(false, v.Name, num(int64(v.Interfaces)), num(v.Records), pct(v.Records, cv.Records))
		}
		cov.Blocks = append(cov.Blocks, at, vt)
		if len(cv.EmptyHours) > 0 {
			var hs []string
			for _, h := range cv.EmptyHours {
				hs = append(hs, h.Format("2006-01-02 15:00"))
			}
			cov.Blocks = append(cov.Blocks, para{Tone: "warn", Text: "Hours in which no interface logged at all: " + strings.Join(hs, ", ") + "."})
		}
		gaps := newTable("Interfaces with hours without any record (marked: improbable for the interface's rate, an exception)",
			"interface", "account", "vpc", "records>", "per hour>", "hours logged>", "gap hours>", "gaps")
		var withGaps []InterfaceCoverage
		for _, i := range cv.Interfaces {
			if len(i.GapHours) > 0 {
				withGaps = append(withGaps, i)
			}
		}
		sort.SliceStable(withGaps, func(a, b int) bool {
			x, y := withGaps[a], withGaps[b]
			if x.Improbable != y.Improbable {
				return x.Improbable
			}
			return len(x.GapHours) > len(y.GapHours)
		})
		for k, i := range withGaps {
			if k >= top {
				gaps.More = len(withGaps) - top
				break
			}
			gaps.add(i.Improbable, i.Interface, orDash(i.Account), orDash(i.VPC), num(i.Records), fmt.Sprintf("%.1f", i.PerHour),
				num(int64(i.HoursLogged)), num(int64(len(i.GapHours))), hourList(i.GapHours))
		}
		cov.Blocks = append(cov.Blocks, gaps)
		if cv.LastHour != nil && cv.LastHour.Before(c.To.Add(-time.Hour)) {
			cov.Blocks = append(cov.Blocks, para{Tone: "note", Text: "The lake's last record of the period starts in the hour of " + cv.LastHour.Format("2006-01-02 15:00") +
				"; later hours are not counted as gaps (their logs may not be delivered yet)."})
		}
	}
	st := newTable("Interfaces that logged in the 7 days before but not in this period", "interface", "account", "vpc", "last record")
	for _, s := range cv.Silent {
		st.add(true, s.Interface, orDash(s.Account), orDash(s.VPC), s.LastSeen.Format(time.RFC3339))
	}
	cov.Blocks = append(cov.Blocks, st)
	d.Sections = append(d.Sections, cov)

	// Rejected traffic.
	rj := c.Rejected
	rej := section{ID: "rejected", Title: "Rejected traffic"}
	if rj.Records == 0 {
		rej.Blocks = append(rej.Blocks, para{Tone: "note", Text: "No rejected records in the period."})
	} else {
		rej.Blocks = append(rej.Blocks, para{Text: fmt.Sprintf("%s rejected records (%s of the records in scope), %s packets, %s, from %s source(s) to %s destination(s).",
			num(rj.Records), pct(rj.Records, rj.ScopeRecords), num(rj.Packets), human.Bytes(rj.Bytes), num(rj.Sources), num(rj.Destinations))})
		rej.Blocks = append(rej.Blocks, addrTable("Top rejected sources", "source", "destinations", rj.TopSources),
			addrTable("Top rejected destinations", "destination", "sources", rj.TopDests))
		pt := newTable("Top rejected destination ports", "port", "protocol", "service", "records>", "sources>")
		for _, p := range rj.TopPorts {
			_, admin := AdminPorts[p.Port]
			pt.add(admin && (p.Protocol == 6 || p.Protocol == 17), fmt.Sprint(p.Port), ProtocolName(p.Protocol), orDash(p.Service), num(p.Records), num(p.Sources))
		}
		rej.Blocks = append(rej.Blocks, pt)
	}
	newText := fmt.Sprintf("%s rejected source(s) appear in no record of the 7 days before the period.", num(rj.NewSources))
	if rj.LookbackDays == 0 {
		newText += " The lake holds no record of those 7 days, so every source counts as new."
	} else {
		newText += fmt.Sprintf(" The lake holds %d of those 7 days.", rj.LookbackDays)
	}
	rej.Blocks = append(rej.Blocks, para{Text: newText})
	nt := addrTable("Busiest new rejected sources", "source", "destinations", rj.NewTop)
	if rj.NewSources > int64(len(rj.NewTop)) {
		nt.More = int(rj.NewSources) - len(rj.NewTop)
	}
	rej.Blocks = append(rej.Blocks, nt)
	d.Sections = append(d.Sections, rej)

	// Exposure.
	ex := c.Exposure
	exp := section{ID: "exposure", Title: "Accepted inbound traffic from the internet"}
	exp.Blocks = append(exp.Blocks, para{Text: "Records ACCEPTed from an internet address to an internal one" + scopeWord(c) +
		" over TCP or UDP, counted when the destination port is below the source port (the service side), so that replies to connections the estate opened are left out. Administration and database ports are marked."})
	if ex.Records == 0 {
		exp.Blocks = append(exp.Blocks, para{Tone: "note", Text: "No accepted inbound records from the internet in the period."})
	} else {
		et := newTable("By destination port", "port", "protocol", "service", "records>", "sources>", "targets>", "bytes>")
		for k, p := range ex.Ports {
			if k >= 2*top {
				et.More = len(ex.Ports) - k
				break
			}
			et.add(p.Admin, fmt.Sprint(p.Port), ProtocolName(p.Protocol), orDash(p.Service), num(p.Records), num(p.Sources), num(p.Targets), human.Bytes(p.Bytes))
		}
		exp.Blocks = append(exp.Blocks, et)
		at := newTable("Internal addresses accepting administration or database ports from the internet", "address", "port", "service", "records>", "sources>", "first", "last")
		for k, t := range ex.Admin {
			if k >= 2*top {
				at.More = len(ex.Admin) - k
				break
			}
			at.add(true, t.Addr, fmt.Sprint(t.Port), t.Service, num(t.Records), num(t.Sources), t.FirstSeen.Format("15:04:05"), t.LastSeen.Format("15:04:05"))
		}
		exp.Blocks = append(exp.Blocks, at)
	}
	d.Sections = append(d.Sections, exp)

	// Alerts.
	as := c.Alerts
	al := section{ID: "alerts", Title: "Alerts of the period"}
	switch {
	case !as.StoreFound:
		al.Blocks = append(al.Blocks, para{Tone: "warn", Text: "The data folder has no alert store: flowlens detect has never recorded alerts here. Run flowlens detect (or detect --follow) over the lake."})
	case as.Total == 0:
		t := "The alert store holds no alert whose span meets the period."
		if as.StoreUpdated != nil {
			t += " It was last updated " + as.StoreUpdated.Format(time.RFC3339) + "."
		}
		al.Blocks = append(al.Blocks, para{Tone: "note", Text: t})
	default:
		st := newTable("By severity", "severity", "alerts>")
		for _, s := range alert.Severities() {
			if n := as.BySeverity[s.String()]; n > 0 {
				st.add(false, s.String(), num(int64(n)))
			}
		}
		ct := newTable("By category and status", "category", "open>", "acked>", "suppressed>", "total>")
		cats := make([]string, 0, len(as.ByCategory))
		for k := range as.ByCategory {
			cats = append(cats, k)
		}
		sort.Strings(cats)
		for _, k := range cats {
			m := as.ByCategory[k]
			o, a, s := m[string(alert.StatusOpen)], m[string(alert.StatusAcked)], m[string(alert.StatusSuppressed)]
			ct.add(o > 0, k, num(int64(o)), num(int64(a)), num(int64(s)), num(int64(o+a+s)))
		}
		lt := newTable("Alerts, most severe first", "id", "severity", "status", "category", "src", "dst", "first seen", "title")
		for k, a := range as.Alerts {
			if k >= 3*top {
				lt.More = len(as.Alerts) - k
				break
			}
			lt.add(a.Status == string(alert.StatusOpen) && a.Severity != "info" && a.Severity != "low", a.ID, a.Severity, a.Status, a.Category,
				orDash(a.Src), orDash(a.Dst), a.FirstSeen.Format("2006-01-02 15:04"), a.Title)
		}
		al.Blocks = append(al.Blocks, para{Text: fmt.Sprintf("%s alert(s): %d open, %d acknowledged, %d suppressed.", num(int64(as.Total)),
			as.ByStatus[string(alert.StatusOpen)], as.ByStatus[string(alert.StatusAcked)], as.ByStatus[string(alert.StatusSuppressed)])}, st, ct, lt)
	}
	d.Sections = append(d.Sections, al)

	// Retention.
	rt := c.Retention
	ret := section{ID: "retention", Title: "Retention evidence (10.5.1)"}
	if rt.DaysAvailable == 0 {
		ret.Blocks = append(ret.Blocks, para{Tone: "warn", Text: "The lake holds no partitions: no log history is retained."})
	} else {
		setting := "keep everything (no retention configured)"
		if rt.RetentionSet != "" {
			setting = "delete partitions older than " + rt.RetentionSet
		}
		kv := newTable("", "fact", "value")
		kv.add(false, "oldest partition", rt.OldestDay)
		kv.add(false, "newest partition", rt.NewestDay)
		kv.add(false, "days available", num(int64(rt.DaysAvailable)))
		kv.add(len(rt.MissingDays) > 0, "days missing between them", num(int64(len(rt.MissingDays))))
		kv.add(!rt.Meets12Months, "last 12 months present", fmt.Sprintf("%d of %d days", rt.Window12Present, rt.Window12Days))
		kv.add(!rt.Meets3Months, "last 3 months present (immediately available)", fmt.Sprintf("%d of %d days", rt.Window3Present, rt.Window3Days))
		kv.add(false, "retention setting", setting)
		ret.Blocks = append(ret.Blocks, kv)
		if len(rt.MissingDays) > 0 {
			shown := rt.MissingDays
			more := ""
			if len(shown) > 31 {
				more = fmt.Sprintf(" and %d more", len(shown)-31)
				shown = shown[:31]
			}
			ret.Blocks = append(ret.Blocks, para{Tone: "warn", Text: "Days without a partition: " + strings.Join(shown, ", ") + more + "."})
		}
		ret.Blocks = append(ret.Blocks, para{Text: "Every partition of the lake is online Parquet, queryable at once by flowlens, Athena or DuckDB."})
	}
	d.Sections = append(d.Sections, ret)

	// Integrity.
	it := c.Integrity
	in := section{ID: "integrity", Title: "Integrity of the period's data files"}
	switch {
	case !it.CatalogFound:
		in.Blocks = append(in.Blocks, para{Tone: "note", Text: "The data folder has no lake catalog."})
	default:
		in.Blocks = append(in.Blocks, para{Text: fmt.Sprintf("%d of the %d data file(s) the catalog records for the period are on disk with their recorded size; the catalog's SHA-256 checksum was verified when it was read.", it.Verified, it.Files)})
		if len(it.Problems) > 0 {
			in.Blocks = append(in.Blocks, para{Tone: "warn", Text: strings.Join(it.Problems, "; ")})
		}
	}
	d.Sections = append(d.Sections, in)

	// Exceptions.
	exc := section{ID: "exceptions", Title: "Exceptions requiring follow-up (10.4.3)"}
	if len(c.Exceptions) == 0 {
		exc.Blocks = append(exc.Blocks, para{Text: "None: nothing in this review needs follow-up."})
	} else {
		t := newTable("", "#>", "section", "item", "reason")
		for i, e := range c.Exceptions {
			t.add(false, fmt.Sprint(i+1), e.Section, e.Item, e.Reason)
		}
		exc.Blocks = append(exc.Blocks, t)
	}
	d.Sections = append(d.Sections, exc)

	d.Sections = append(d.Sections, section{ID: "sign-off", Title: "Reviewer sign-off", Blocks: []block{
		para{Text: "I have reviewed the flow logs and the security events of the period above and the exceptions listed for follow-up."},
		signoff{Reviewer: c.Review.Reviewer, Date: c.Review.Date},
	}})
	return d
}

func scopeWord(c *Compliance) string {
	if len(c.Scope.CDE) > 0 {
		return " in the cardholder data environment"
	}
	return ""
}

func addrTable(caption, addrCol, peerCol string, rows []AddrCount) *table {
	t := newTable(caption, addrCol, "records>", peerCol+">", "ports>")
	for _, r := range rows {
		t.add(false, r.Addr, num(r.Records), num(r.Peers), num(r.Ports))
	}
	return t
}

// hourList renders hours compactly: runs of consecutive hours as 03–05h.
func hourList(hs []time.Time) string {
	var parts []string
	for i := 0; i < len(hs); {
		j := i
		for j+1 < len(hs) && hs[j+1].Sub(hs[j]) == time.Hour {
			j++
		}
		if j == i {
			parts = append(parts, hs[i].Format("15h"))
		} else {
			parts = append(parts, hs[i].Format("15")+"–"+hs[j].Format("15h"))
		}
		i = j + 1
	}
	if len(parts) > 8 {
		parts = append(parts[:8], "…")
	}
	return strings.Join(parts, ", ")
}
