package report

import "strconv"

// protocols names the IANA protocol numbers seen in VPC traffic.
var protocols = map[int64]string{
	1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp", 51: "ah",
	58: "icmpv6", 89: "ospf", 112: "vrrp", 132: "sctp",
}

// ProtocolName returns the name of an IANA protocol number ("tcp" for 6),
// or the number itself when it has no common name.
func ProtocolName(p int64) string {
	if n, ok := protocols[p]; ok {
		return n
	}
	return strconv.FormatInt(p, 10)
}

// services names well-known TCP and UDP ports.
var services = map[int64]string{
	20: "ftp-data", 21: "ftp", 25: "smtp", 53: "dns", 67: "dhcp", 68: "dhcp", 80: "http", 88: "kerberos",
	110: "pop3", 111: "rpcbind", 123: "ntp", 143: "imap", 161: "snmp", 389: "ldap", 443: "https", 465: "smtps",
	514: "syslog", 587: "submission", 636: "ldaps", 993: "imaps", 995: "pop3s", 1194: "openvpn", 2049: "nfs",
	3128: "proxy", 4444: "metasploit", 5060: "sip", 5671: "amqps", 5672: "amqp", 8080: "http-alt",
	8443: "https-alt", 8333: "bitcoin", 9092: "kafka", 9999: "mining-pool", 14444: "mining-pool",
}

// Service names the service of a destination port for TCP and UDP ("ssh",
// "https"); "" when the port has no common name or the protocol has no ports.
func Service(protocol, port int64) string {
	if protocol != 6 && protocol != 17 {
		return ""
	}
	if n, ok := AdminPorts[port]; ok {
		return n
	}
	return services[port]
}
