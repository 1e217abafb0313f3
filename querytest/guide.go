package querytest

// GuideQuery is one of the user's guide queries (DESIGN §5), verbatim.
type GuideQuery struct {
	Name string
	Lang string // "insights" or "sql"
	Text string
}

// GuideQueries are the six queries of the user's guide that must run verbatim
// and give the right answer (DESIGN §5). The SQL ones filter on March 2024, the
// month Generate writes by default.
var GuideQueries = []GuideQuery{
	{"top-talkers", "insights", `fields @timestamp, srcaddr, dstaddr, bytes
| filter action = "ACCEPT"
| stats sum(bytes) as total_bytes by srcaddr, dstaddr
| sort total_bytes desc
| limit 20`},
	{"rejected", "insights", `fields @timestamp, srcaddr, dstaddr, srcport, dstport, action
| filter action = "REJECT"
| stats count() as rejected_count by srcaddr, dstaddr, dstport
| sort rejected_count desc
| limit 50`},
	{"port-scan", "insights", `fields @timestamp, srcaddr, dstaddr, dstport
| filter action = "REJECT"
| stats dc(dstport) as unique_ports, count() as attempts by srcaddr
| where unique_ports > 10 and attempts > 50
| sort attempts desc`},
	{"top-pairs-sql", "sql", `SELECT srcaddr, dstaddr, SUM(bytes) as total_bytes, COUNT(*) as flow_count
FROM vpc_flow_logs WHERE year = '2024' AND month = '03' AND action = 'ACCEPT'
GROUP BY srcaddr, dstaddr ORDER BY total_bytes DESC LIMIT 100;`},
	{"crypto-mining-sql", "sql", `SELECT srcaddr, dstaddr, dstport, COUNT(*) as connections FROM vpc_flow_logs
WHERE dstport IN (4444, 8333, 9999, 14444) AND action = 'ACCEPT'
GROUP BY srcaddr, dstaddr, dstport ORDER BY connections DESC;`},
	{"internal-scan-sql", "sql", `SELECT srcaddr, COUNT(DISTINCT dstaddr) as targets_scanned, COUNT(DISTINCT dstport) as ports_scanned,
  SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) as rejected_attempts
FROM vpc_flow_logs WHERE srcaddr LIKE '10.%' OR srcaddr LIKE '172.%' OR srcaddr LIKE '192.168.%'
GROUP BY srcaddr HAVING targets_scanned > 10 AND ports_scanned > 5 ORDER BY rejected_attempts DESC;`},
}

// ExfiltrationQuery is the guide's invalid exfiltration query: it selects
// dstaddr without grouping or aggregating it, and must fail saying so.
const ExfiltrationQuery = `SELECT srcaddr, dstaddr, SUM(bytes) as total_bytes
FROM vpc_flow_logs WHERE action = 'ACCEPT'
GROUP BY srcaddr HAVING SUM(bytes) > 1000000000
ORDER BY total_bytes DESC;`
