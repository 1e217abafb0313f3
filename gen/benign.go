package gen

// sliceGen makes the benign traffic of one slice of time: a fixed number of
// records drawn from a mix of conversation kinds, each on the interfaces it
// really crosses.
type sliceGen struct {
	p      *plan
	r      rng
	t0, t1 int64
	out    []flow
}

// benignKind is one kind of benign conversation and its share of events.
type benignKind struct {
	name   string
	weight float64
	emit   func(g *sliceGen)
}

var benignKinds = []benignKind{
	{"web", 0.17, (*sliceGen).web},
	{"health-check", 0.05, (*sliceGen).healthCheck},
	{"web-to-app", 0.10, (*sliceGen).webToApp},
	{"app-to-app", 0.08, (*sliceGen).appToApp},
	{"database", 0.12, (*sliceGen).database},
	{"dns", 0.09, (*sliceGen).dns},
	{"nat-egress", 0.05, (*sliceGen).natEgress},
	{"aws-endpoint", 0.05, (*sliceGen).awsEndpoint},
	{"ntp", 0.012, (*sliceGen).ntp},
	{"monitoring", 0.05, (*sliceGen).monitoring},
	{"peering", 0.02, (*sliceGen).peering},
	{"background-scan", 0.16, (*sliceGen).backgroundScan},
	{"nodata", 0.012, (*sliceGen).noData},
}

var benignCum = func() []float64 {
	c := make([]float64, len(benignKinds))
	s := 0.0
	for i, k := range benignKinds {
		s += k.weight
		c[i] = s
	}
	for i := range c {
		c[i] /= s
	}
	return c
}()

// fill appends benign records until the slice holds budget more records.
func (g *sliceGen) fill(budget int) {
	want := len(g.out) + budget
	for len(g.out) < want {
		mark := len(g.out)
		u := g.r.float()
		k := 0
		for k < len(benignCum)-1 && u >= benignCum[k] {
			k++
		}
		benignKinds[k].emit(g)
		if g.inGap(mark) {
			g.out = g.out[:mark]
			continue
		}
		if len(g.out) > want {
			// The last conversation does not fit: end with single-record events.
			g.out = g.out[:mark]
			for len(g.out) < want {
				m := len(g.out)
				g.backgroundScan()
				if g.inGap(m) {
					g.out = g.out[:m]
				}
			}
		}
	}
}

// inGap reports whether a record from mark on falls in a flow-log delivery gap.
func (g *sliceGen) inGap(mark int) bool {
	for _, gp := range g.p.gaps {
		if gp.t1 <= g.t0 || gp.t0 >= g.t1 {
			continue
		}
		for _, f := range g.out[mark:] {
			if f.h.vpc == gp.vpc && f.start >= gp.t0 && f.start < gp.t1 {
				return true
			}
		}
	}
	return false
}

func (g *sliceGen) when() int64 { return g.t0 + int64(g.r.intn(int(g.t1-g.t0))) }

// ephemeral returns a client port: Linux's range for our hosts, the wider
// Windows/macOS range for internet clients.
func (g *sliceGen) ephemeral() uint16 { return uint16(g.r.between(32768, 60999)) }

func (g *sliceGen) clientPort() uint16 { return uint16(g.r.between(49152, 65535)) }

func (g *sliceGen) pick(hs []*host) *host { return hs[g.r.intn(len(hs))] }

// vpcFor picks a VPC that has every role given, weighted towards production.
func (g *sliceGen) vpcFor(roles ...role) *vpc {
	for try := 0; try < 4; try++ {
		var v *vpc
		u := g.r.float()
		switch {
		case u < 0.68:
			v = g.p.topo.vpcs[0]
		case u < 0.82:
			v = g.p.topo.vpcs[1]
		default:
			v = g.p.topo.vpcs[2]
		}
		ok := true
		for _, rl := range roles {
			if len(v.byRole[rl]) == 0 {
				ok = false
			}
		}
		if ok {
			return v
		}
	}
	return g.p.topo.vpcs[0]
}

// clientHost picks an instance that runs application code in v.
func (g *sliceGen) clientHost(v *vpc) *host {
	for {
		switch g.r.intn(4) {
		case 0:
			if hs := v.byRole[roleWeb]; len(hs) > 0 {
				return g.pick(hs)
			}
		case 1:
			if hs := v.byRole[roleECS]; len(hs) > 0 {
				return g.pick(hs)
			}
		default:
			if hs := v.byRole[roleApp]; len(hs) > 0 {
				return g.pick(hs)
			}
			if hs := v.byRole[roleWorker]; len(hs) > 0 {
				return g.pick(hs)
			}
		}
	}
}

// tcpSession fills a conversation with the numbers of a complete short TCP
// session: requests of reqAvg bytes per packet, responses of respAvg.
func (g *sliceGen) tcpSession(c *conv, reqPkts, respPkts int, reqAvg, respAvg float64, dur float64) {
	c.proto = protoTCP
	c.start = g.when()
	c.end = c.start + int64(min(dur, 59))
	c.pktsAB = int64(reqPkts)
	c.pktsBA = int64(respPkts)
	c.bytesAB = int64(float64(reqPkts) * clampf(g.r.lognorm(reqAvg, 0.3), 40, 1500))
	c.bytesBA = int64(float64(respPkts) * clampf(g.r.lognorm(respAvg, 0.3), 40, 1500))
	c.flagsA, c.flagsB = flagsDataSess, flagsDataSess
	if g.r.chance(0.15) {
		c.flagsA, c.flagsB = flagsSession, flagsSession
	}
}

func clampf(v, lo, hi float64) float64 { return max(lo, min(hi, v)) }

// web: an internet client browses through the load balancer to a web target.
func (g *sliceGen) web() {
	v := g.vpcFor(roleALB, roleWeb)
	alb, web := g.pick(v.byRole[roleALB]), g.pick(v.byRole[roleWeb])
	client := clientPool.pick(hashOf(g.p.seed, hashString("client"), uint64(g.r.intn(g.p.clients))))
	c := conv{a: outside(client, svcNone), b: ours(alb), sport: g.clientPort(), dport: 443}
	if g.r.chance(0.08) {
		c.dport = 80
	}
	req, resp := g.r.between(5, 20), g.r.between(6, 80)
	g.tcpSession(&c, req, resp, 180, 1200, g.r.lognorm(1.5, 0.8))
	g.out = c.emit(g.out)
	// The load balancer opens its own connection to the target.
	c2 := conv{a: ours(alb), b: ours(web), sport: g.ephemeral(), dport: 8080, proto: protoTCP,
		start: c.start, end: c.end, pktsAB: int64(req), bytesAB: c.bytesAB + int64(req)*60,
		pktsBA: int64(resp), bytesBA: c.bytesBA, flagsA: flagsDataSess, flagsB: flagsDataSess}
	g.out = c2.emit(g.out)
}

// healthCheck: the load balancer checks a target.
func (g *sliceGen) healthCheck() {
	v := g.vpcFor(roleALB, roleWeb)
	c := conv{a: ours(g.pick(v.byRole[roleALB])), b: ours(g.pick(v.byRole[roleWeb])), sport: g.ephemeral(), dport: 8080}
	g.tcpSession(&c, 5, 4, 90, 140, g.r.float())
	c.flagsA, c.flagsB = flagsDataSess, flagsDataSess
	g.out = c.emit(g.out)
}

// webToApp: a web server calls the application tier.
func (g *sliceGen) webToApp() {
	v := g.vpcFor(roleWeb, roleApp)
	a := g.pick(v.byRole[roleWeb])
	if g.r.chance(0.3) && len(v.byRole[roleECS]) > 0 {
		a = g.pick(v.byRole[roleECS])
	}
	c := conv{a: ours(a), b: ours(g.pick(v.byRole[roleApp])), sport: g.ephemeral(), dport: 8080}
	g.tcpSession(&c, g.r.between(4, 30), g.r.between(4, 60), 300, 900, g.r.lognorm(0.5, 1))
	g.out = c.emit(g.out)
}

// appToApp: service-to-service gRPC calls, and analytics workers shuffling data.
func (g *sliceGen) appToApp() {
	v := g.vpcFor()
	if hs := v.byRole[roleWorker]; len(hs) > 1 {
		a, b := g.pick(hs), g.pick(hs)
		if a == b {
			return
		}
		c := conv{a: ours(a), b: ours(b), sport: g.ephemeral(), dport: 7337}
		g.tcpSession(&c, g.r.between(20, 4000), g.r.between(10, 200), 1400, 80, g.r.lognorm(4, 1))
		g.out = c.emit(g.out)
		return
	}
	hs := v.byRole[roleApp]
	a, b := g.pick(hs), g.pick(hs)
	if a == b {
		return
	}
	c := conv{a: ours(a), b: ours(b), sport: g.ephemeral(), dport: 50051}
	g.tcpSession(&c, g.r.between(3, 40), g.r.between(3, 40), 400, 600, g.r.lognorm(0.3, 1))
	g.out = c.emit(g.out)
}

// database: application queries against PostgreSQL, Redis or MySQL.
func (g *sliceGen) database() {
	v := g.vpcFor(rolePostgres)
	a := g.clientHost(v)
	var db *host
	var port uint16
	switch u := g.r.float(); {
	case u < 0.35 && len(v.byRole[roleRedis]) > 0:
		db, port = g.pick(v.byRole[roleRedis]), 6379
	case u < 0.5 && len(v.byRole[roleMySQL]) > 0:
		db, port = g.pick(v.byRole[roleMySQL]), 3306
	case u < 0.56 && len(v.byRole[roleSearch]) > 0:
		db, port = g.pick(v.byRole[roleSearch]), 9200
	case u < 0.6 && len(v.byRole[roleMongo]) > 0:
		db, port = g.pick(v.byRole[roleMongo]), 27017
	default:
		db, port = g.pick(v.byRole[rolePostgres]), 5432
	}
	c := conv{a: ours(a), b: ours(db), sport: g.ephemeral(), dport: port}
	g.tcpSession(&c, g.r.between(4, 40), g.r.between(4, 300), 200, 1100, g.r.lognorm(2, 1.2))
	g.out = c.emit(g.out)
}

// dns: lookups against the VPC's resolver, which sometimes asks upstream.
func (g *sliceGen) dns() {
	v := g.vpcFor(roleResolver)
	res := g.pick(v.byRole[roleResolver])
	if g.r.chance(0.25) && len(v.byRole[roleNAT]) > 0 {
		up := dnsUpstreams.pick(g.r.next())
		c := conv{a: ours(res), b: outside(up, svcNone), nat: g.pick(v.byRole[roleNAT]), sport: g.ephemeral(), dport: 53, proto: protoUDP}
		c.start = g.when()
		c.end = c.start + int64(g.r.intn(2))
		c.pktsAB, c.pktsBA = 1, 1
		c.bytesAB, c.bytesBA = int64(g.r.between(60, 90)), int64(g.r.between(90, 400))
		c.flagsA, c.flagsB = noFlags, noFlags
		g.out = c.emit(g.out)
		return
	}
	c := conv{a: ours(g.clientHost(v)), b: ours(res), sport: g.ephemeral(), dport: 53, proto: protoUDP}
	c.start = g.when()
	c.end = c.start + int64(g.r.intn(2))
	n := int64(g.r.between(1, 4))
	c.pktsAB, c.pktsBA = n, n
	c.bytesAB, c.bytesBA = n*int64(g.r.between(60, 90)), n*int64(g.r.between(90, 300))
	c.flagsA, c.flagsB = noFlags, noFlags
	g.out = c.emit(g.out)
}

// natEgress: applications call third-party APIs and AWS public endpoints
// through the NAT gateway.
func (g *sliceGen) natEgress() {
	v := g.vpcFor(roleNAT)
	dst := outside(saasPool.pick(g.r.next()), svcNone)
	if g.r.chance(0.35) {
		dst = outside(v.amazon.pick(g.r.next()), svcAmazon)
	}
	c := conv{a: ours(g.clientHost(v)), b: dst, nat: g.pick(v.byRole[roleNAT]), sport: g.ephemeral(), dport: 443}
	if g.r.chance(0.1) {
		c.dport = 80 // package mirrors
	}
	g.tcpSession(&c, g.r.between(6, 40), g.r.between(6, 200), 300, 1300, g.r.lognorm(1, 1))
	g.out = c.emit(g.out)
}

// awsEndpoint: S3 and DynamoDB through the VPC's gateway endpoints.
func (g *sliceGen) awsEndpoint() {
	v := g.vpcFor()
	dst := outside(v.s3.pick(g.r.next()), svcS3)
	if g.r.chance(0.3) {
		dst = outside(v.dynamo.pick(g.r.next()), svcDynamoDB)
	}
	c := conv{a: ours(g.clientHost(v)), b: dst, endpointGW: true, sport: g.ephemeral(), dport: 443}
	if g.r.chance(0.5) {
		g.tcpSession(&c, g.r.between(5, 30), g.r.between(10, 900), 400, 1400, g.r.lognorm(1, 1)) // GET
	} else {
		g.tcpSession(&c, g.r.between(10, 900), g.r.between(5, 40), 1400, 90, g.r.lognorm(1, 1)) // PUT
	}
	g.out = c.emit(g.out)
}

// ntp: instances keep time with public NTP servers through the NAT gateway.
func (g *sliceGen) ntp() {
	v := g.vpcFor(roleNAT)
	c := conv{a: ours(g.clientHost(v)), b: outside(ntpServers.pick(g.r.next()), svcNone), nat: g.pick(v.byRole[roleNAT]),
		sport: g.ephemeral(), dport: 123, proto: protoUDP, pktsAB: 1, pktsBA: 1, bytesAB: 76, bytesBA: 76,
		flagsA: noFlags, flagsB: noFlags}
	c.start = g.when()
	c.end = c.start
	g.out = c.emit(g.out)
}

// monitoring: the production scraper pulls metrics from every instance and
// pings them: one busy host with hundreds of peers, all accepted.
func (g *sliceGen) monitoring() {
	v := g.p.topo.vpcs[0]
	mon := v.byRole[roleMonitor][0]
	var target *host
	for target == nil || target.instance == "" || target == mon {
		target = g.pick(v.hosts)
	}
	if g.r.chance(0.2) {
		c := conv{a: ours(mon), b: ours(target), proto: protoICMP, pktsAB: 1, pktsBA: 1, bytesAB: 84, bytesBA: 84,
			flagsA: noFlags, flagsB: noFlags}
		c.start = g.when()
		c.end = c.start
		g.out = c.emit(g.out)
		return
	}
	c := conv{a: ours(mon), b: ours(target), sport: g.ephemeral(), dport: 9100}
	g.tcpSession(&c, 5, g.r.between(8, 40), 150, 1400, g.r.float()*2)
	g.out = c.emit(g.out)
}

// peering: analytics workers in eu-west-1 read the production replica across
// the inter-Region peering connection.
func (g *sliceGen) peering() {
	w := g.pick(g.p.topo.vpcs[2].byRole[roleWorker])
	db := g.pick(g.p.topo.vpcs[0].byRole[rolePostgres])
	c := conv{a: ours(w), b: ours(db), sport: g.ephemeral(), dport: 5432}
	g.tcpSession(&c, g.r.between(5, 40), g.r.between(20, 2000), 200, 1400, g.r.lognorm(5, 1))
	g.out = c.emit(g.out)
}

// scanPorts are the ports internet background scanners probe.
var scanPorts = []uint16{22, 23, 25, 80, 81, 135, 139, 443, 445, 1433, 1723, 2375, 3306, 3389, 5060, 5432, 5555, 5900, 6379, 7547, 8000, 8080, 8081, 8443, 8888, 9200, 11211, 27017, 37215, 50000}

// openPorts are the ports each public role accepts from anywhere.
func openPort(h *host, port uint16) bool {
	switch h.role {
	case roleALB:
		return port == 80 || port == 443
	case roleBastion:
		return port == 22
	case roleWinJump:
		return port == 3389
	}
	return false
}

// backgroundScanTargets are the public interfaces internet noise reaches.
func (p *plan) backgroundTargets() []*host {
	var ts []*host
	for _, v := range p.topo.vpcs {
		for _, h := range v.hosts {
			switch h.role {
			case roleALB, roleBastion, roleWinJump:
				ts = append(ts, h)
			}
		}
	}
	return ts
}

// backgroundScan: one of thousands of internet scanners probes a closed port
// of a public interface; the security group drops the SYN. Each scanner has
// its own one to four ports and one to three targets, so none of them alone
// looks like a port scan.
func (g *sliceGen) backgroundScan() {
	i := uint64(g.r.intn(g.p.scanners))
	sr := seeded(g.p.seed, hashString("scanner"), i)
	src := scannerPool.pick(sr.next())
	// One to three ports, plus telnet where a chosen port is open on the target.
	nPorts, nTargets := 1+sr.intn(3), 1+sr.intn(3)
	k := g.r.intn(nPorts * nTargets)
	var port uint16
	for j := 0; j <= k%nPorts; j++ {
		port = scanPorts[sr.intn(len(scanPorts))]
	}
	ts := g.p.scanTargets
	target := ts[mix64(uint64(k/nPorts)+i*7919)%uint64(len(ts))]
	if openPort(target, port) {
		port = 23 // telnet is closed everywhere
	}
	pk := int64(1 + g.r.intn(2))
	f := flow{h: target, start: g.when(), src: src, dst: target.ip, srcPort: uint16(g.r.between(1024, 65535)), dstPort: port,
		proto: protoTCP, packets: pk, bytes: pk * int64([]int{40, 44, 60}[g.r.intn(3)]), action: actReject, flags: flagsProbe}
	f.end = f.start + int64(g.r.intn(3))
	g.out = append(g.out, f)
}

// noData: an interface without traffic in an aggregation interval.
func (g *sliceGen) noData() {
	h := g.pick(g.p.topo.hosts)
	start := g.when()
	g.out = append(g.out, statusRecord(h, start, start+int64(g.r.between(30, 60)), statusNoData))
}
