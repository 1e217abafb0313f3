package gen

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
)

// WriteTruth writes the truth file: one DESIGN §6 JSON object per line.
func WriteTruth(w io.Writer, events []TruthEvent) error {
	bw := bufio.NewWriter(w)
	for _, e := range events {
		b, _ := e.MarshalJSON()
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// threatComments say what each threat-list entry is, as feeds do.
var threatComments = map[string]string{
	"193.142.146.0/24": "malware hosting and C2 (abuse feed)",
	"45.95.147.0/24":   "mass scanning and exploitation attempts",
	"185.220.101.0/24": "Tor exit nodes",
	"23.129.64.0/24":   "Tor exit nodes",
	"171.25.193.0/24":  "Tor exit nodes",
	"109.70.100.0/24":  "Tor exit nodes",
	"62.102.148.0/24":  "brute-force sources (honeypot feed)",
	"198.98.56.0/22":   "spam and phishing infrastructure",
}

// WriteThreatList writes a plain threat list for cfg: one IPv4 address or CIDR
// per line, '#' comment lines and trailing comments. It holds the networks the
// threat-intel scenario contacts, the exact addresses it uses, and decoys that
// nothing in the data touches.
func WriteThreatList(w io.Writer, cfg Config) error {
	truth, err := Truth(cfg)
	if err != nil {
		return err
	}
	cfg, _ = cfg.withDefaults()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# flowlens synthetic threat list (seed %d)\n", cfg.Seed)
	fmt.Fprintf(bw, "# one IPv4 address or CIDR per line; '#' starts a comment\n#\n")
	fmt.Fprintf(bw, "# networks\n")
	for _, e := range threatEntries {
		fmt.Fprintf(bw, "%-18s # %s\n", e, threatComments[e])
	}
	fmt.Fprintf(bw, "\n# single addresses\n")
	for _, e := range truth {
		if e.Category != "threat-intel" {
			continue
		}
		for _, a := range []netip.Addr{e.Src, e.Dst} {
			if a.IsValid() && !a.IsPrivate() {
				fmt.Fprintf(bw, "%-18s # reported %s\n", a, e.Start.Format("2006-01-02"))
			}
		}
	}
	// Decoys: listed, never contacted, so a detector that alerts on them is wrong.
	for _, a := range []string{"109.70.100.19", "62.102.148.68", "171.25.193.77"} {
		fmt.Fprintf(bw, "%-18s # %s\n", a, "reported by partner feed")
	}
	fmt.Fprintf(bw, "\n# more networks\n")
	for _, e := range threatDecoys {
		fmt.Fprintf(bw, "%-18s # %s\n", e, threatComments[e])
	}
	return bw.Flush()
}
