package gen

import (
	"fmt"
	"net/netip"
	"strings"
)

// role is what a network interface does in the estate.
type role uint8

const (
	roleALB      role = iota // load balancer node (requester-managed)
	roleNAT                  // NAT gateway (requester-managed)
	roleBastion              // SSH jump host with a public IP
	roleWinJump              // RDP jump host with a public IP
	roleWeb                  // web tier, behind the load balancer
	roleApp                  // application tier
	roleECS                  // ECS Fargate task (awsvpc interface)
	rolePostgres             // PostgreSQL
	roleRedis                // Redis
	roleMySQL                // MySQL
	roleMonitor              // Prometheus-style scraper and pinger
	roleResolver             // internal DNS resolver
	roleSearch               // Elasticsearch node with a public IP
	roleMongo                // MongoDB node with a public IP
	roleWorker               // analytics worker
	numRoles
)

var roleNames = [numRoles]string{"alb", "nat", "bastion", "winjump", "web", "app", "ecs", "postgres", "redis", "mysql", "monitor", "resolver", "search", "mongo", "worker"}

// host is one network interface of the estate and what it is attached to.
type host struct {
	idx      int
	role     role
	name     string
	eni      string
	instance string // "" for requester-managed interfaces (load balancer, NAT, Fargate)
	ip       netip.Addr
	public   netip.Addr // public IPv4, zero when none
	vpc      *vpc
	subnet   string
	az       string
	ecs      *ecsTask
	stream   string // CloudWatch log stream: "eni-…-all"
}

// ecsTask is the ECS metadata of a Fargate task's interface.
type ecsTask struct {
	clusterARN, clusterName, containerID, secondContainerID string
	serviceName, taskDefinitionARN, taskARN, taskID         string
}

// vpc is one VPC with its flow log.
type vpc struct {
	idx     int
	name    string
	account string
	region  string
	id      string
	flowLog string
	cidr    netip.Prefix
	hosts   []*host
	byRole  [numRoles][]*host
	s3      pool // the Region's S3 ranges
	dynamo  pool
	amazon  pool
}

// topology is the whole synthetic estate: accounts, Regions, VPCs, subnets and interfaces.
type topology struct {
	vpcs   []*vpc
	hosts  []*host
	byIP   map[netip.Addr]*host // private addresses, all VPCs
	office pool
}

type subnetPlan struct {
	name   string
	prefix string
	az     int
}

type rolePlan struct {
	role   role
	count  int
	subnet []string // subnets, round robin
	public bool
}

type vpcPlan struct {
	name, region string
	account      int
	cidr         string
	azs          []string
	subnets      []subnetPlan
	roles        []rolePlan
	publicPool   string
	s3, dynamo   []string
	amazon       []string
}

var vpcPlans = []vpcPlan{
	{
		name: "prod", region: "us-east-1", account: 0, cidr: "10.0.0.0/16",
		azs: []string{"use1-az1", "use1-az2"},
		subnets: []subnetPlan{
			{"public-a", "10.0.0.0/24", 0}, {"public-b", "10.0.1.0/24", 1},
			{"app-a", "10.0.16.0/20", 0}, {"app-b", "10.0.32.0/20", 1},
			{"data-a", "10.0.64.0/24", 0}, {"data-b", "10.0.65.0/24", 1},
			{"shared-a", "10.0.80.0/24", 0},
		},
		roles: []rolePlan{
			{roleALB, 2, []string{"public-a", "public-b"}, true},
			{roleNAT, 2, []string{"public-a", "public-b"}, true},
			{roleBastion, 1, []string{"public-a"}, true},
			{roleWinJump, 1, []string{"public-b"}, true},
			{roleSearch, 1, []string{"public-a"}, true},
			{roleMongo, 1, []string{"public-b"}, true},
			{roleWeb, 30, []string{"app-a", "app-b"}, false},
			{roleApp, 100, []string{"app-a", "app-b"}, false},
			{roleECS, 36, []string{"app-a", "app-b"}, false},
			{rolePostgres, 3, []string{"data-a", "data-b"}, false},
			{roleRedis, 2, []string{"data-a", "data-b"}, false},
			{roleMySQL, 1, []string{"data-b"}, false},
			{roleMonitor, 1, []string{"shared-a"}, false},
			{roleResolver, 2, []string{"shared-a"}, false},
		},
		publicPool: "3.208.0.0/12",
		s3:         []string{"52.216.0.0/15", "3.5.0.0/19", "54.231.0.0/17"},
		dynamo:     []string{"3.218.180.0/22", "52.94.0.0/22"},
		amazon:     []string{"52.46.0.0/18", "54.239.0.0/17"},
	},
	{
		name: "staging", region: "us-east-1", account: 1, cidr: "10.1.0.0/16",
		azs: []string{"use1-az1", "use1-az4"},
		subnets: []subnetPlan{
			{"public-a", "10.1.0.0/24", 0}, {"public-b", "10.1.1.0/24", 1},
			{"app-a", "10.1.16.0/20", 0}, {"data-a", "10.1.64.0/24", 1},
		},
		roles: []rolePlan{
			{roleALB, 2, []string{"public-a", "public-b"}, true},
			{roleNAT, 1, []string{"public-a"}, true},
			{roleWeb, 8, []string{"app-a"}, false},
			{roleApp, 24, []string{"app-a"}, false},
			{roleECS, 8, []string{"app-a"}, false},
			{rolePostgres, 1, []string{"data-a"}, false},
			{roleRedis, 1, []string{"data-a"}, false},
			{roleResolver, 1, []string{"app-a"}, false},
		},
		publicPool: "44.192.0.0/11",
		s3:         []string{"52.216.0.0/15", "3.5.0.0/19"},
		dynamo:     []string{"3.218.180.0/22"},
		amazon:     []string{"52.46.0.0/18"},
	},
	{
		name: "data", region: "eu-west-1", account: 2, cidr: "10.2.0.0/16",
		azs: []string{"euw1-az1", "euw1-az2", "euw1-az3"},
		subnets: []subnetPlan{
			{"public-a", "10.2.0.0/24", 0},
			{"work-a", "10.2.16.0/20", 0}, {"work-b", "10.2.32.0/20", 1}, {"work-c", "10.2.48.0/20", 2},
			{"db-a", "10.2.64.0/24", 0}, {"db-b", "10.2.65.0/24", 1},
		},
		roles: []rolePlan{
			{roleNAT, 1, []string{"public-a"}, true},
			{roleWorker, 60, []string{"work-a", "work-b", "work-c"}, false},
			{rolePostgres, 2, []string{"db-a", "db-b"}, false},
			{roleResolver, 1, []string{"work-a"}, false},
		},
		publicPool: "34.240.0.0/13",
		s3:         []string{"52.218.0.0/17", "3.5.64.0/21"},
		dynamo:     []string{"52.119.240.0/21"},
		amazon:     []string{"52.95.244.0/22"},
	},
}

var ecsServices = []string{"checkout", "catalog", "notifications", "search-api"}

// buildTopology makes the estate for a seed: the structure is fixed, the IDs and
// addresses are drawn from the seed.
func buildTopology(seed uint64) *topology {
	r := seeded(seed, hashString("topology"))
	t := &topology{byIP: map[netip.Addr]*host{}, office: mustPool("64.62.150.8/29")}
	accounts := make([]string, 3)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 100000000000+r.intn(900000000000))
	}
	used := map[netip.Addr]bool{}
	for vi, p := range vpcPlans {
		v := &vpc{
			idx: vi, name: p.name, account: accounts[p.account], region: p.region,
			id: "vpc-" + awsID(&r), flowLog: "fl-" + awsID(&r),
			cidr:   netip.MustParsePrefix(p.cidr),
			s3:     mustPool(p.s3...),
			dynamo: mustPool(p.dynamo...),
			amazon: mustPool(p.amazon...),
		}
		subnets := map[string]struct {
			id     string
			prefix netip.Prefix
			az     string
			next   netip.Addr
		}{}
		for _, s := range p.subnets {
			pf := netip.MustParsePrefix(s.prefix)
			// AWS reserves the first four addresses of a subnet.
			subnets[s.name] = struct {
				id     string
				prefix netip.Prefix
				az     string
				next   netip.Addr
			}{"subnet-" + awsID(&r), pf, p.azs[s.az], addN(pf.Addr(), 4)}
		}
		pub := mustPool(p.publicPool)
		for _, rp := range p.roles {
			for i := 0; i < rp.count; i++ {
				sn := rp.subnet[i%len(rp.subnet)]
				s := subnets[sn]
				ip := addN(s.next, r.between(1, 6))
				s.next = ip
				subnets[sn] = s
				h := &host{
					idx: len(t.hosts), role: rp.role, vpc: v, ip: ip, subnet: s.id, az: s.az,
					name: fmt.Sprintf("%s-%s-%02d", p.name, roleNames[rp.role], i+1),
					eni:  "eni-" + awsID(&r),
				}
				switch rp.role {
				case roleALB, roleNAT, roleECS:
				default:
					h.instance = "i-" + awsID(&r)
				}
				if rp.public {
					for {
						a := pub.pick(r.next())
						if !used[a] {
							used[a] = true
							h.public = a
							break
						}
					}
				}
				if rp.role == roleECS {
					h.ecs = newECSTask(&r, v, i)
				}
				h.stream = h.eni + "-all"
				v.hosts = append(v.hosts, h)
				v.byRole[rp.role] = append(v.byRole[rp.role], h)
				t.hosts = append(t.hosts, h)
				t.byIP[h.ip] = h
			}
		}
		t.vpcs = append(t.vpcs, v)
	}
	return t
}

func newECSTask(r *rng, v *vpc, i int) *ecsTask {
	cluster := v.name + "-ecs"
	svc := ecsServices[i%len(ecsServices)]
	taskID := string(r.hex(nil, 32))
	arn := func(kind, rest string) string {
		return "arn:aws:ecs:" + v.region + ":" + v.account + ":" + kind + "/" + rest
	}
	return &ecsTask{
		clusterARN:        arn("cluster", cluster),
		clusterName:       cluster,
		containerID:       taskID + "-" + fmt.Sprint(1000000000+r.intn(999999999)),
		secondContainerID: taskID + "-" + fmt.Sprint(1000000000+r.intn(999999999)),
		serviceName:       svc,
		taskDefinitionARN: arn("task-definition", fmt.Sprintf("%s:%d", svc, 10+r.intn(60))),
		taskARN:           arn("task", cluster+"/"+taskID),
		taskID:            taskID,
	}
}

// awsID returns the 17 hex digits of a current-style AWS resource ID, which
// start with 0.
func awsID(r *rng) string { return string(r.hex([]byte{'0'}, 16)) }

func addN(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// pool is a set of IPv4 prefixes from which addresses are drawn by hash.
type pool struct {
	prefixes []netip.Prefix
	sizes    []uint64
	total    uint64
}

func mustPool(cidrs ...string) pool {
	var p pool
	for _, c := range cidrs {
		pf := netip.MustParsePrefix(c)
		n := uint64(1) << (32 - pf.Bits())
		p.prefixes = append(p.prefixes, pf)
		p.sizes = append(p.sizes, n)
		p.total += n
	}
	return p
}

// pick maps h to an address of the pool, never a network (.0) or broadcast (.255) one.
func (p pool) pick(h uint64) netip.Addr {
	h = mix64(h)
	off := h % p.total
	for i, n := range p.sizes {
		if off < n {
			a := addN(p.prefixes[i].Addr(), int(off))
			b := a.As4()
			if b[3] == 0 || b[3] == 255 {
				b[3] = byte(1 + (h>>40)%254)
				a = netip.AddrFrom4(b)
				if !p.prefixes[i].Contains(a) {
					return p.prefixes[i].Addr().Next()
				}
			}
			return a
		}
		off -= n
	}
	return p.prefixes[0].Addr().Next()
}

// contains reports whether a is in the pool.
func (p pool) contains(a netip.Addr) bool {
	for _, pf := range p.prefixes {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// String lists the pool's prefixes.
func (p pool) String() string {
	s := make([]string, len(p.prefixes))
	for i, pf := range p.prefixes {
		s[i] = pf.String()
	}
	return strings.Join(s, ",")
}
