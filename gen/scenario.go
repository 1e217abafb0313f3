package gen

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Categories are the attack categories of the detection engine (DESIGN §6), in
// the order the generator plans them.
var Categories = []string{
	"port-scan", "port-sweep", "brute-force", "data-exfiltration", "crypto-mining",
	"lateral-movement", "c2-beaconing", "threat-intel", "exposed-service",
	"rejected-spike", "unusual-port", "flow-log-health",
}

// TruthEvent is one labelled attack: a line of the truth file. Src and Dst are
// the zero Addr when the attack has no single actor or target.
type TruthEvent struct {
	Category string
	// Scenario names the instance ("port-scan/external-blatant"); it is not written
	// to the truth file, whose shape DESIGN §6 fixes.
	Scenario string
	Src, Dst netip.Addr
	Start    time.Time
	End      time.Time
	// Records is how many flow-log records the attack wrote.
	Records int
}

// MarshalJSON writes the DESIGN §6 truth line: category, src, dst, start, end.
func (e TruthEvent) MarshalJSON() ([]byte, error) {
	b := []byte(`{"category":`)
	b = appendJSONString(b, e.Category)
	b = append(b, `,"src":`...)
	b = appendAddr(b, e.Src)
	b = append(b, `,"dst":`...)
	b = appendAddr(b, e.Dst)
	b = append(b, `,"start":`...)
	b = appendJSONString(b, e.Start.UTC().Format(time.RFC3339))
	b = append(b, `,"end":`...)
	b = appendJSONString(b, e.End.UTC().Format(time.RFC3339))
	return append(b, '}'), nil
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// ParseScenarios reads a --scenarios value: "all", "none" or a comma-separated
// list of categories. It returns nil for all.
func ParseScenarios(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "all":
		return nil, nil
	case "none":
		return []string{}, nil
	}
	var out []string
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(Categories, c) {
			return nil, fmt.Errorf("unknown scenario %q: expected all, none or a comma-separated list of %s", c, strings.Join(Categories, ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// planner places the attacks and the scheduled benign jobs of a run.
type planner struct {
	p          *plan
	r          rng
	t0, t1     int64
	used       map[*host]bool
	flows      []flow
	truth      []TruthEvent
	categories []string
}

// scenario is one attack instance.
type scenario struct {
	category string
	name     string
	run      func(pl *planner) (src, dst netip.Addr)
}

// scenarios lists every attack instance: for most categories a blatant one and
// one near the thresholds a detector would use.
var scenarios = []scenario{
	{"port-scan", "external-blatant", (*planner).portScanExternal},
	{"port-scan", "internal-subtle", (*planner).portScanInternal},
	{"port-sweep", "smb-blatant", (*planner).portSweepSMB},
	{"port-sweep", "ssh-subtle", (*planner).portSweepSSH},
	{"brute-force", "ssh-blatant", (*planner).bruteForceSSH},
	{"brute-force", "rdp-subtle", (*planner).bruteForceRDP},
	{"data-exfiltration", "bulk-blatant", (*planner).exfilBulk},
	{"data-exfiltration", "slow-subtle", (*planner).exfilSlow},
	{"crypto-mining", "stratum-blatant", (*planner).miningBlatant},
	{"crypto-mining", "stratum-subtle", (*planner).miningSubtle},
	{"lateral-movement", "ssh-blatant", (*planner).lateralBlatant},
	{"lateral-movement", "ssh-subtle", (*planner).lateralSubtle},
	{"c2-beaconing", "https-blatant", (*planner).beaconBlatant},
	{"c2-beaconing", "jittered-subtle", (*planner).beaconSubtle},
	{"threat-intel", "outbound", (*planner).threatOutbound},
	{"threat-intel", "inbound-probe", (*planner).threatInbound},
	{"threat-intel", "tor-visitor", (*planner).threatTorVisitor},
	{"exposed-service", "elasticsearch-blatant", (*planner).exposedSearch},
	{"exposed-service", "mongodb-subtle", (*planner).exposedMongo},
	{"rejected-spike", "security-group-blatant", (*planner).spikeSecurityGroup},
	{"rejected-spike", "syn-flood-subtle", (*planner).spikeFlood},
	{"unusual-port", "irc-blatant", (*planner).unusualIRC},
	{"unusual-port", "alt-ssh-subtle", (*planner).unusualAltSSH},
	{"flow-log-health", "skipdata", (*planner).healthSkipData},
	{"flow-log-health", "delivery-gap", (*planner).healthGap},
}

// planAttacks runs every scenario (so that choosing a subset never moves the
// others) and keeps the records and truth of the selected categories.
func (pl *planner) planAttacks(selected func(string) bool) {
	for i, sc := range scenarios {
		pl.r = seeded(pl.p.seed, hashString("scenario"), uint64(i))
		mark := len(pl.flows)
		gaps := len(pl.p.gaps)
		src, dst := sc.run(pl)
		if !selected(sc.category) {
			pl.flows = pl.flows[:mark]
			pl.p.gaps = pl.p.gaps[:gaps]
			continue
		}
		ev := TruthEvent{Category: sc.category, Scenario: sc.category + "/" + sc.name, Src: src, Dst: dst}
		fs := pl.flows[mark:]
		if len(pl.p.gaps) > gaps {
			g := pl.p.gaps[len(pl.p.gaps)-1]
			ev.Start, ev.End = time.Unix(g.t0, 0).UTC(), time.Unix(g.t1, 0).UTC()
		} else if len(fs) > 0 {
			lo, hi := fs[0].start, fs[0].end
			for _, f := range fs {
				lo, hi = min(lo, f.start), max(hi, f.end)
			}
			ev.Start, ev.End = time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()
		}
		ev.Records = len(fs)
		pl.truth = append(pl.truth, ev)
	}
}

// place returns the start of an activity of dur seconds (clipped to fit the
// run) at a seeded random time, and the clipped duration.
func (pl *planner) place(dur int64) (int64, int64) {
	run := pl.t1 - pl.t0
	dur = min(dur, run*8/10)
	slack := run - dur - 120
	if slack < 1 {
		slack = 1
	}
	return pl.t0 + 60 + int64(pl.r.intn(int(slack))), dur
}

// actor picks an unused interface of one of the roles in VPC v; actors and
// targets are never shared between attacks, so each truth line stands alone.
func (pl *planner) actor(v *vpc, roles ...role) *host {
	var cands []*host
	for _, rl := range roles {
		for _, h := range v.byRole[rl] {
			if !pl.used[h] {
				cands = append(cands, h)
			}
		}
	}
	if len(cands) == 0 {
		for _, rl := range roles {
			cands = append(cands, v.byRole[rl]...)
		}
	}
	h := cands[pl.r.intn(len(cands))]
	pl.used[h] = true
	return h
}

func (pl *planner) prod() *vpc { return pl.p.topo.vpcs[0] }

func (pl *planner) emit(c conv) { pl.flows = c.emit(pl.flows) }

func (pl *planner) port() uint16 { return uint16(pl.r.between(32768, 60999)) }

// longSession emits a connection that lasts from start to end as one record per
// minute on each interface, the way 1-minute aggregation splits it.
func (pl *planner) longSession(c conv, start, end int64, bytesABPerMin, bytesBAPerMin float64, sizeAB, sizeBA int64) {
	for t := start; t < end; t += 60 {
		cc := c
		cc.start = t
		cc.end = min(t+59, end)
		bab := int64(pl.r.lognorm(bytesABPerMin, 0.25))
		bba := int64(pl.r.lognorm(bytesBAPerMin, 0.25))
		cc.pktsAB = max(1, bab/sizeAB)
		cc.pktsBA = max(1, bba/sizeBA)
		cc.bytesAB, cc.bytesBA = cc.pktsAB*sizeAB, cc.pktsBA*sizeBA
		switch {
		case t == start && t+60 >= end:
			cc.flagsA, cc.flagsB = flagsDataSess, flagsDataSess
		case t == start:
			cc.flagsA, cc.flagsB = flagsOpening, flagsOpening
		case t+60 >= end:
			cc.flagsA, cc.flagsB = flagsClosing, flagsClosing
		default:
			cc.flagsA, cc.flagsB = flagsMiddle, flagACK
		}
		pl.emit(cc)
	}
}

// shortSession emits one complete TCP session at t.
func (pl *planner) shortSession(c conv, t int64, pAB, pBA int, sizeAB, sizeBA float64, dur int) {
	c.proto = protoTCP
	c.start, c.end = t, t+int64(dur)
	c.pktsAB, c.pktsBA = int64(pAB), int64(pBA)
	c.bytesAB = int64(float64(pAB) * clampf(pl.r.lognorm(sizeAB, 0.2), 40, 1500))
	c.bytesBA = int64(float64(pBA) * clampf(pl.r.lognorm(sizeBA, 0.2), 40, 1500))
	c.flagsA, c.flagsB = flagsDataSess, flagsDataSess
	pl.emit(c)
}

// probe emits one SYN to a port: rejected, or answered when open.
func (pl *planner) probe(a, b endpoint, t int64, dport uint16, open bool) {
	c := conv{a: a, b: b, sport: pl.port(), dport: dport, proto: protoTCP, start: t, end: t,
		pktsAB: 1, bytesAB: 44, flagsA: flagsProbe}
	if open {
		c.pktsAB, c.bytesAB, c.flagsA = 2, 84, flagSYN|flagRST
		c.pktsBA, c.bytesBA, c.flagsB = 1, 44, flagsSynAck
	} else {
		c.reject = true
		if pl.r.chance(0.3) {
			c.pktsAB, c.bytesAB, c.end = 2, 88, t+1 // one retransmission
		}
	}
	pl.emit(c)
}

// --- port-scan ---

// portScanExternal: an internet host SYN-scans 1,000 ports of the bastion in
// about five minutes; only 22 answers.
func (pl *planner) portScanExternal() (netip.Addr, netip.Addr) {
	src := attackerPool.pick(pl.r.next())
	target := pl.prod().byRole[roleBastion][0]
	ports := pl.distinctPorts(1000)
	start, dur := pl.place(int64(pl.r.between(240, 360)))
	for i, p := range ports {
		t := start + dur*int64(i)/int64(len(ports))
		pl.probe(outside(src, svcNone), ours(target), t, p, p == 22)
	}
	return src, target.ip
}

// portScanInternal: a compromised application server probes 60 ports of a
// database over twenty minutes, one SYN each: just past "more than 50 attempts
// on more than 10 ports".
func (pl *planner) portScanInternal() (netip.Addr, netip.Addr) {
	a := pl.actor(pl.prod(), roleApp)
	target := pl.actor(pl.prod(), rolePostgres)
	ports := pl.distinctPorts(60)
	start, dur := pl.place(1200)
	for i, p := range ports {
		t := start + dur*int64(i)/int64(len(ports)) + int64(pl.r.intn(10))
		pl.probe(ours(a), ours(target), t, p, p == 5432)
	}
	return a.ip, target.ip
}

// distinctPorts returns n distinct ports, well-known ones first, in scan order.
func (pl *planner) distinctPorts(n int) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, p := range scanPorts {
		if len(out) < n/3 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for len(out) < n {
		p := uint16(pl.r.between(1, 65535))
		if pl.r.chance(0.5) {
			p = uint16(pl.r.between(1, 10000))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for i := len(out) - 1; i > 0; i-- {
		j := pl.r.intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// --- port-sweep ---

// portSweepSMB: a compromised server sweeps 254 addresses of its /24 on SMB
// (445) in eight minutes; every interface that exists rejects it.
func (pl *planner) portSweepSMB() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleApp)
	start, dur := pl.place(480)
	base := netip.AddrFrom4([4]byte{10, 0, 16, 0})
	for i := 1; i <= 254; i++ {
		ip := addN(base, i)
		if ip == a.ip {
			continue
		}
		t := start + dur*int64(i)/254
		b := outside(ip, svcNone)
		if h := pl.p.topo.byIP[ip]; h != nil {
			b = ours(h)
		}
		c := conv{a: ours(a), b: b, sport: pl.port(), dport: 445, proto: protoTCP, start: t, end: t + 1,
			pktsAB: 2, bytesAB: 104, flagsA: flagsProbe, reject: true}
		pl.emit(c)
	}
	return a.ip, netip.Addr{}
}

// portSweepSSH: a compromised task tries SSH on 30 instances over half an hour;
// security groups allow SSH only from the bastion, so all are rejected.
func (pl *planner) portSweepSSH() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleECS)
	targets := pl.targets(v, 30, roleApp, roleWeb)
	start, dur := pl.place(1800)
	for i, h := range targets {
		t := start + dur*int64(i)/int64(len(targets)) + int64(pl.r.intn(20))
		pl.probe(ours(a), ours(h), t, 22, false)
	}
	return a.ip, netip.Addr{}
}

// targets picks n distinct interfaces of the given roles, not used as actors.
func (pl *planner) targets(v *vpc, n int, roles ...role) []*host {
	var cands []*host
	for _, rl := range roles {
		for _, h := range v.byRole[rl] {
			if !pl.used[h] {
				cands = append(cands, h)
			}
		}
	}
	for i := len(cands) - 1; i > 0; i-- {
		j := pl.r.intn(i + 1)
		cands[i], cands[j] = cands[j], cands[i]
	}
	return cands[:min(n, len(cands))]
}

// --- brute-force ---

// bruteForceSSH: 400 SSH logins in twenty minutes from one internet host to the
// bastion, which accepts SSH from anywhere: short complete sessions.
func (pl *planner) bruteForceSSH() (netip.Addr, netip.Addr) {
	src := attackerPool.pick(pl.r.next())
	b := pl.prod().byRole[roleBastion][0]
	start, dur := pl.place(1200)
	for i := 0; i < 400; i++ {
		t := start + dur*int64(i)/400
		c := conv{a: outside(src, svcNone), b: ours(b), sport: uint16(pl.r.between(32768, 60999)), dport: 22}
		pl.shortSession(c, t, pl.r.between(12, 22), pl.r.between(10, 18), 160, 260, pl.r.between(2, 6))
	}
	return src, b.ip
}

// bruteForceRDP: 45 RDP logins in half an hour against the Windows jump host.
func (pl *planner) bruteForceRDP() (netip.Addr, netip.Addr) {
	src := attackerPool.pick(pl.r.next())
	b := pl.prod().byRole[roleWinJump][0]
	start, dur := pl.place(1800)
	for i := 0; i < 45; i++ {
		t := start + dur*int64(i)/45 + int64(pl.r.intn(20))
		c := conv{a: outside(src, svcNone), b: ours(b), sport: uint16(pl.r.between(49152, 65535)), dport: 3389}
		pl.shortSession(c, t, pl.r.between(20, 40), pl.r.between(18, 35), 400, 700, pl.r.between(3, 9))
	}
	return src, b.ip
}

// outboundSession is the shape of several scenarios: a host of role r in v
// holds one long TCP session of dur seconds, at a seeded time, to an outside
// host drawn from dsts on dport, through v's NAT gateway number nat, at the
// given rates (see longSession). It returns the actor and its peer. The order
// of the random draws (actor, peer, time, source port) is part of the output.
func (pl *planner) outboundSession(v *vpc, r role, dsts pool, nat int, dur int64, dport uint16, bytesABPerMin, bytesBAPerMin float64, sizeAB, sizeBA int64) (netip.Addr, netip.Addr) {
	a := pl.actor(v, r)
	dst := dsts.pick(pl.r.next())
	start, d := pl.place(dur)
	c := conv{a: ours(a), b: outside(dst, svcNone), nat: v.byRole[roleNAT][nat], sport: pl.port(), dport: dport, proto: protoTCP}
	pl.longSession(c, start, start+d, bytesABPerMin, bytesBAPerMin, sizeAB, sizeBA)
	return a.ip, dst
}

// --- data-exfiltration ---

// exfilBulk: an application server uploads about 8 GB to an outside host on 443
// through the NAT gateway in forty minutes.
func (pl *planner) exfilBulk() (netip.Addr, netip.Addr) {
	return pl.outboundSession(pl.prod(), roleApp, exfilPool, 0, 2400, 443, 200e6, 3e6, 1448, 52)
}

// exfilSlow: a database trickles about 600 MB out over two hours, 5 MB a minute.
func (pl *planner) exfilSlow() (netip.Addr, netip.Addr) {
	return pl.outboundSession(pl.prod(), rolePostgres, exfilPool, 1, 7200, 443, 5e6, 90e3, 1448, 52)
}

// --- crypto-mining ---

// miningBlatant: a task keeps a stratum connection to a mining pool on 14444
// for three hours.
func (pl *planner) miningBlatant() (netip.Addr, netip.Addr) {
	return pl.outboundSession(pl.prod(), roleECS, miningPool, 0, 3*3600, 14444, 3000, 4500, 150, 180)
}

// miningSubtle: an analytics worker mines on 3333 for 45 minutes.
func (pl *planner) miningSubtle() (netip.Addr, netip.Addr) {
	return pl.outboundSession(pl.p.topo.vpcs[2], roleWorker, miningPool, 0, 45*60, 3333, 1500, 2000, 150, 180)
}

// --- lateral-movement ---

// lateralBlatant: a web server (which never administers anything) opens SSH
// sessions to 15 application and database servers in half an hour.
func (pl *planner) lateralBlatant() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleWeb)
	ts := pl.targets(v, 15, roleApp, rolePostgres, roleRedis, roleMySQL)
	start, dur := pl.place(1800)
	for i, h := range ts {
		for s := 0; s < 1+pl.r.intn(3); s++ {
			t := start + dur*int64(i)/int64(len(ts)) + int64(s*pl.r.between(20, 90))
			c := conv{a: ours(a), b: ours(h), sport: pl.port(), dport: 22, proto: protoTCP}
			pl.longSession(c, t, t+int64(pl.r.between(20, 240)), 4000, 20000, 120, 300)
		}
	}
	return a.ip, netip.Addr{}
}

// lateralSubtle: an application server reaches four peers over SSH in an hour.
func (pl *planner) lateralSubtle() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleApp)
	ts := pl.targets(v, 4, roleApp)
	start, dur := pl.place(3600)
	for i, h := range ts {
		t := start + dur*int64(i)/int64(len(ts)) + int64(pl.r.intn(300))
		c := conv{a: ours(a), b: ours(h), sport: pl.port(), dport: 22, proto: protoTCP}
		pl.longSession(c, t, t+int64(pl.r.between(40, 200)), 3000, 12000, 120, 300)
	}
	return a.ip, netip.Addr{}
}

// --- c2-beaconing ---

// beacon emits a short HTTPS check-in every interval seconds (± jitter, a
// fraction of the interval) from a to dst through NAT n.
func (pl *planner) beacon(a *host, n *host, dst netip.Addr, dport uint16, interval float64, jitter float64, dur int64) {
	start, dur := pl.place(dur)
	for t := float64(start); t < float64(start+dur); t += interval * (1 + jitter*(2*pl.r.float()-1)) {
		c := conv{a: ours(a), b: outside(dst, svcNone), nat: n, sport: pl.port(), dport: dport}
		pl.shortSession(c, int64(t), pl.r.between(6, 9), pl.r.between(5, 8), 110, 160, pl.r.between(0, 1))
	}
}

// beaconBlatant: a check-in every 60 s (±1.5 %) for four hours.
func (pl *planner) beaconBlatant() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleApp)
	dst := c2Pool.pick(pl.r.next())
	pl.beacon(a, v.byRole[roleNAT][0], dst, 443, 60, 0.015, 4*3600)
	return a.ip, dst
}

// beaconSubtle: a check-in every 300 s (±8 %) on 8443 for six hours.
func (pl *planner) beaconSubtle() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleECS)
	dst := c2Pool.pick(pl.r.next())
	pl.beacon(a, v.byRole[roleNAT][1], dst, 8443, 300, 0.08, 6*3600)
	return a.ip, dst
}

// --- threat-intel ---

// threatIP returns an address inside threat-list entry i.
func (pl *planner) threatIP(i int) netip.Addr { return mustPool(threatEntries[i]).pick(pl.r.next()) }

// threatOutbound: an application server makes six HTTPS connections to a listed
// address over forty minutes.
func (pl *planner) threatOutbound() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleApp)
	dst := pl.threatIP(0)
	start, dur := pl.place(2400)
	for i := 0; i < 6; i++ {
		t := start + dur*int64(i)/6 + int64(pl.r.intn(60))
		c := conv{a: ours(a), b: outside(dst, svcNone), nat: v.byRole[roleNAT][0], sport: pl.port(), dport: 443}
		pl.shortSession(c, t, pl.r.between(8, 20), pl.r.between(8, 40), 300, 1200, pl.r.between(1, 4))
	}
	return a.ip, dst
}

// threatInbound: a listed address probes twelve closed ports of a load balancer
// node in ten minutes.
func (pl *planner) threatInbound() (netip.Addr, netip.Addr) {
	src := pl.threatIP(1)
	target := pl.prod().byRole[roleALB][1]
	start, dur := pl.place(600)
	ports := []uint16{22, 23, 445, 3389, 8080, 8443, 5900, 6379, 9200, 27017, 2375, 5432}
	for i, p := range ports {
		pl.probe(outside(src, svcNone), ours(target), start+dur*int64(i)/int64(len(ports)), p, false)
	}
	return src, target.ip
}

// threatTorVisitor: a Tor exit on the list browses the website: 25 accepted
// requests through the load balancer in fifteen minutes.
func (pl *planner) threatTorVisitor() (netip.Addr, netip.Addr) {
	v := pl.prod()
	src := pl.threatIP(2)
	alb := v.byRole[roleALB][0]
	start, dur := pl.place(900)
	for i := 0; i < 25; i++ {
		t := start + dur*int64(i)/25
		c := conv{a: outside(src, svcNone), b: ours(alb), sport: uint16(pl.r.between(49152, 65535)), dport: 443}
		pl.shortSession(c, t, pl.r.between(6, 16), pl.r.between(8, 60), 200, 1200, pl.r.between(1, 3))
	}
	return src, alb.ip
}

// --- exposed-service ---

// exposedSearch: Elasticsearch on a public address answers 9200 to 40 internet
// hosts over two hours; some pull whole indices.
func (pl *planner) exposedSearch() (netip.Addr, netip.Addr) {
	h := pl.prod().byRole[roleSearch][0]
	pl.used[h] = true
	start, dur := pl.place(7200)
	for i := 0; i < 40; i++ {
		src := victimSourcePool.pick(pl.r.next())
		for s := 0; s < 1+pl.r.intn(4); s++ {
			t := start + int64(pl.r.intn(int(dur)))
			c := conv{a: outside(src, svcNone), b: ours(h), sport: uint16(pl.r.between(32768, 65535)), dport: 9200}
			resp := pl.r.between(4, 30)
			if pl.r.chance(0.15) {
				resp = pl.r.between(5000, 40000) // a dump
			}
			pl.shortSession(c, t, pl.r.between(4, 10), resp, 200, 1400, pl.r.between(1, 50))
		}
	}
	return netip.Addr{}, h.ip
}

// exposedMongo: MongoDB on a public address answers 27017 to four hosts, six
// sessions in an hour.
func (pl *planner) exposedMongo() (netip.Addr, netip.Addr) {
	h := pl.prod().byRole[roleMongo][0]
	pl.used[h] = true
	start, dur := pl.place(3600)
	srcs := []netip.Addr{victimSourcePool.pick(pl.r.next()), victimSourcePool.pick(pl.r.next()), victimSourcePool.pick(pl.r.next()), victimSourcePool.pick(pl.r.next())}
	for i := 0; i < 6; i++ {
		t := start + dur*int64(i)/6
		c := conv{a: outside(srcs[i%4], svcNone), b: ours(h), sport: uint16(pl.r.between(32768, 65535)), dport: 27017}
		pl.shortSession(c, t, pl.r.between(5, 12), pl.r.between(5, 200), 150, 1300, pl.r.between(1, 20))
	}
	return netip.Addr{}, h.ip
}

// --- rejected-spike ---

// spikeSecurityGroup: a bad security-group change cuts twenty application
// servers off their database for twelve minutes; each retries every few
// seconds and every attempt is rejected: ten times the run's baseline reject
// rate (at least 300 a minute).
func (pl *planner) spikeSecurityGroup() (netip.Addr, netip.Addr) {
	v := pl.prod()
	db := pl.actor(v, rolePostgres)
	apps := pl.targets(v, 20, roleApp)
	rate := max(300, 10*pl.p.rejectsPerMinute)
	start, dur := pl.place(720)
	n := min(int(rate*float64(dur)/60), 20000)
	for i := 0; i < n; i++ {
		t := start + dur*int64(i)/int64(n)
		a := apps[pl.r.intn(len(apps))]
		pl.probe(ours(a), ours(db), t, 5432, false)
	}
	return netip.Addr{}, db.ip
}

// spikeFlood: one internet host floods SYNs at a closed port of a load balancer
// node for fifteen minutes at 2.5 times the baseline reject rate (at least 60 a minute).
func (pl *planner) spikeFlood() (netip.Addr, netip.Addr) {
	src := attackerPool.pick(pl.r.next())
	target := pl.prod().byRole[roleALB][0]
	rate := max(60, 2.5*pl.p.rejectsPerMinute)
	start, dur := pl.place(900)
	n := min(int(rate*float64(dur)/60), 20000)
	for i := 0; i < n; i++ {
		pl.probe(outside(src, svcNone), ours(target), start+dur*int64(i)/int64(n), 8443, false)
	}
	return src, target.ip
}

// --- unusual-port ---

// unusualIRC: an application server holds an IRC connection (6667) for forty minutes.
func (pl *planner) unusualIRC() (netip.Addr, netip.Addr) {
	return pl.outboundSession(pl.prod(), roleApp, oddPortPool, 0, 2400, 6667, 800, 2500, 90, 200)
}

// unusualAltSSH: a task opens three sessions to an outside host on 2222 in
// twenty minutes.
func (pl *planner) unusualAltSSH() (netip.Addr, netip.Addr) {
	v := pl.prod()
	a := pl.actor(v, roleECS)
	dst := oddPortPool.pick(pl.r.next())
	start, dur := pl.place(1200)
	for i := 0; i < 3; i++ {
		t := start + dur*int64(i)/3
		c := conv{a: ours(a), b: outside(dst, svcNone), nat: v.byRole[roleNAT][1], sport: pl.port(), dport: 2222, proto: protoTCP}
		pl.longSession(c, t, t+int64(pl.r.between(60, 300)), 6000, 30000, 120, 400)
	}
	return a.ip, dst
}

// --- flow-log-health ---

// healthSkipData: eight production interfaces report SKIPDATA every minute for
// ten minutes (AWS skipped records for lack of capacity).
func (pl *planner) healthSkipData() (netip.Addr, netip.Addr) {
	v := pl.prod()
	hs := pl.targets(v, 8, roleApp, roleWeb, roleECS)
	start, dur := pl.place(600)
	for t := start; t < start+dur; t += 60 {
		for _, h := range hs {
			pl.flows = append(pl.flows, statusRecord(h, t, t+59, statusSkipData))
		}
	}
	return netip.Addr{}, netip.Addr{}
}

// healthGap: the staging VPC's flow log delivers nothing for thirty minutes.
// No attack runs in staging, so the gap hides none.
func (pl *planner) healthGap() (netip.Addr, netip.Addr) {
	start, dur := pl.place(1800)
	start -= start % 60
	pl.p.gaps = append(pl.p.gaps, gap{vpc: pl.p.topo.vpcs[1], t0: start, t1: start + dur})
	return netip.Addr{}, netip.Addr{}
}

// --- scheduled benign jobs ---

// planBackups adds the nightly database backups: every PostgreSQL and MySQL
// server uploads several GB to S3 through the gateway endpoint, starting near
// 01:30 UTC, one record per minute each way. Large, steady, outbound: the
// benign twin of data exfiltration, told apart by pkt-dst-aws-service=S3.
func (pl *planner) planBackups() {
	pl.r = seeded(pl.p.seed, hashString("backups"))
	day0 := pl.t0 - pl.t0%86400
	for day := day0; day < pl.t1; day += 86400 {
		for _, v := range pl.p.topo.vpcs {
			for _, h := range append(append([]*host{}, v.byRole[rolePostgres]...), v.byRole[roleMySQL]...) {
				start := day + 5400 + int64(pl.r.intn(900))
				dur := int64(pl.r.between(45, 75)) * 60
				c := conv{a: ours(h), b: outside(v.s3.pick(pl.r.next()), svcS3), endpointGW: true, sport: pl.port(), dport: 443, proto: protoTCP}
				if start >= pl.t0 && start+dur <= pl.t1 && !pl.inGap(v, start, start+dur) {
					pl.longSession(c, start, start+dur, 150e6, 2.5e6, 1448, 52)
				}
			}
		}
	}
}

// planAdmin adds the administrators' working day: a fixed number of sessions
// whatever the traffic volume, between 08:00 and 18:00 UTC: SSH from the office
// to the bastion, RDP to the Windows jump host, and SSH from the bastion to
// instances. Long sessions, one record per minute. The benign twin of brute
// force and lateral movement.
func (pl *planner) planAdmin() {
	pl.r = seeded(pl.p.seed, hashString("admin"))
	v := pl.prod()
	bastion, jump := v.byRole[roleBastion][0], v.byRole[roleWinJump][0]
	day0 := pl.t0 - pl.t0%86400
	for day := day0; day < pl.t1; day += 86400 {
		session := func(c conv, bytesAB, bytesBA float64) {
			start := day + 8*3600 + int64(pl.r.intn(10*3600))
			end := start + int64(pl.r.between(5, 90))*60
			if start >= pl.t0 && end <= pl.t1 {
				pl.longSession(c, start, end, bytesAB, bytesBA, 120, 400)
			}
		}
		for i := 0; i < 10; i++ {
			office := outside(pl.p.topo.office.pick(pl.r.next()), svcNone)
			session(conv{a: office, b: ours(bastion), sport: uint16(pl.r.between(49152, 65535)), dport: 22, proto: protoTCP}, 6000, 30000)
		}
		for i := 0; i < 4; i++ {
			office := outside(pl.p.topo.office.pick(pl.r.next()), svcNone)
			session(conv{a: office, b: ours(jump), sport: uint16(pl.r.between(49152, 65535)), dport: 3389, proto: protoTCP}, 40000, 400000)
		}
		for i := 0; i < 16; i++ {
			var h *host
			for h == nil || h.instance == "" || h == bastion {
				h = v.hosts[pl.r.intn(len(v.hosts))]
			}
			session(conv{a: ours(bastion), b: ours(h), sport: pl.port(), dport: 22, proto: protoTCP}, 5000, 20000)
		}
	}
}

func (pl *planner) inGap(v *vpc, t0, t1 int64) bool {
	for _, g := range pl.p.gaps {
		if g.vpc == v && t0 < g.t1 && t1 > g.t0 {
			return true
		}
	}
	return false
}
