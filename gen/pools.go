package gen

// External address pools. They are disjoint on purpose: benign traffic never
// touches an attacker's, a threat list's or a decoy's range, so every alert on
// those addresses is a true positive and every alert elsewhere is a false one.
var (
	// clientPool: consumer ISP ranges that browse the public web tier.
	clientPool = mustPool("73.0.0.0/8", "98.192.0.0/10", "76.0.0.0/10", "86.128.0.0/10",
		"79.192.0.0/10", "90.0.0.0/9", "24.16.0.0/12", "174.48.0.0/12", "2.24.0.0/13", "180.150.0.0/16")
	// scannerPool: hosting ranges of internet-wide scanners and bots.
	scannerPool = mustPool("159.65.0.0/16", "167.99.0.0/16", "178.128.0.0/16", "206.189.0.0/16",
		"43.128.0.0/10", "162.142.125.0/24", "167.94.138.0/23", "71.6.128.0/17",
		"198.235.24.0/24", "205.210.31.0/24", "64.62.197.0/24", "184.105.139.0/24", "80.82.64.0/20")
	// saasPool: third-party APIs and package mirrors that applications call.
	saasPool = mustPool("140.82.112.0/20", "151.101.0.0/16", "104.16.0.0/13", "142.250.0.0/15", "199.232.0.0/16")
	// ntpServers and dnsUpstreams are the public time and name servers.
	ntpServers   = mustPool("129.6.15.28/32", "132.163.96.1/32", "162.159.200.1/32", "216.239.35.0/32", "216.239.35.4/32")
	dnsUpstreams = mustPool("8.8.8.8/32", "8.8.4.4/32", "1.1.1.1/32", "9.9.9.9/32")

	// attackerPool: where external attack actors come from.
	attackerPool = mustPool("185.156.72.0/22", "91.240.118.0/24", "5.188.206.0/24", "212.70.149.0/24", "141.98.10.0/24")
	// victimSourcePool: the many internet sources that find an exposed service.
	victimSourcePool = mustPool("47.88.0.0/14", "101.32.0.0/12", "138.68.0.0/16")
	// c2Pool, exfilPool, miningPool, oddPortPool: attackers' infrastructure.
	c2Pool      = mustPool("103.253.40.0/22")
	exfilPool   = mustPool("5.255.96.0/19")
	miningPool  = mustPool("51.15.0.0/16")
	oddPortPool = mustPool("37.187.0.0/16")

	// threatEntries are the threat list's entries the threat-intel scenario uses;
	// threatDecoys are listed but never contacted.
	threatEntries = []string{"193.142.146.0/24", "45.95.147.0/24", "185.220.101.0/24"}
	threatDecoys  = []string{"23.129.64.0/24", "171.25.193.0/24", "109.70.100.0/24", "62.102.148.0/24", "198.98.56.0/22"}
)
