package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/querytest"
)

const pantherTests = "../../shared/testdata/external/vpcflow_panther/panther_aws_vpcflow_rule_tests.json"

// pantherRules maps Panther's VPC flow rules to the built-in rule that covers
// them. AWS.VPC.UnapprovedOutboundDNS has no counterpart (flowlens has no
// approved-resolver list) and is not checked.
var pantherRules = map[string]string{
	"AWS.VPC.HealthyLogStatus":     "flow-log-skipdata",
	"AWS.VPC.InboundPortWhitelist": "exposed-service",
	"AWS.VPC.InboundPortBlacklist": "exposed-service",
	"AWS.VPC.SSHAllowedSignal":     "exposed-service",
	"AWS.VPC.PortScanning":         "port-scan-vertical",
}

const pantherFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${region} ${flow-direction}"

// pantherLine turns one of Panther's test events (AWS.VPCFlow or OCSF field
// names) into a flow-log line. Fields the event leaves out get what a record
// of that event would hold: a probe's one packet, an ephemeral source port,
// ACCEPT (Panther's rules ignore the action unless they test it), OK.
func pantherLine(ev map[string]any, dstPort int, at int64) string {
	str := func(keys ...string) string {
		for _, k := range keys {
			var v any = ev
			for _, part := range strings.Split(k, ".") {
				m, ok := v.(map[string]any)
				if !ok {
					v = nil
					break
				}
				v = m[part]
			}
			switch x := v.(type) {
			case string:
				if x == "null" {
					return "-"
				}
				return x
			case float64:
				return fmt.Sprint(int64(x))
			}
		}
		return "-"
	}
	or := func(s, def string) string {
		if s == "-" {
			return def
		}
		return s
	}
	status := or(str("status", "status_code"), "OK")
	if status != "OK" {
		return fmt.Sprintf("5 123456789012 eni-0123456789abcdef0 - - - - - - - %d %d - %s - - - -", at, at+59, status)
	}
	port := str("dstPort", "dst_endpoint.port")
	if dstPort > 0 {
		port = fmt.Sprint(dstPort)
	}
	return fmt.Sprintf("5 123456789012 eni-0123456789abcdef0 %s %s %s %s 6 1 44 %d %d %s OK %s %s %s %s",
		str("srcAddr", "src_endpoint.ip"), str("dstAddr", "dst_endpoint.ip"), or(str("srcPort"), "54321"), port,
		at, at+1, or(str("action"), "ACCEPT"), str("vpcId"), str("subNetId"), str("region"), str("flowDirection"))
}

// TestPantherRuleTests replays the test events of Panther's VPC flow rules
// through the matching built-in rule and checks Panther's expected outcome.
// Port scanning is a threshold rule in Panther (10 distinct ports an hour),
// so a matching event is repeated over ten uncommon ports, a non-matching one
// over ten ports of its kind (the common ports for the HTTPS case).
func TestPantherRuleTests(t *testing.T) {
	b, err := os.ReadFile(pantherTests)
	if os.IsNotExist(err) {
		t.Skipf("Panther test events not present (%s)", pantherTests)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules []struct {
			RuleID string `json:"rule_id"`
			Tests  []struct {
				Name     string         `json:"name"`
				Expected bool           `json:"expected_result"`
				Log      map[string]any `json:"log"`
			} `json:"tests"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	format, err := flowlog.ParseFormat(pantherFormat)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	checked := 0
	for _, r := range doc.Rules {
		ruleID, ok := pantherRules[r.RuleID]
		if !ok {
			continue
		}
		var rule *Rule
		for _, br := range builtin {
			if br.ID == ruleID {
				rule = br
			}
		}
		for _, tc := range r.Tests {
			t.Run(r.RuleID+"/"+tc.Name, func(t *testing.T) {
				var lines []string
				at := start.Unix() + 600
				switch {
				case ruleID == "port-scan-vertical" && tc.Name == "Egress to Common HTTPS Port":
					for i, p := range []int{80, 123, 443, 445, 53, 853, 2049} {
						lines = append(lines, pantherLine(tc.Log, p, at+int64(i)*10))
					}
				case ruleID == "port-scan-vertical":
					for i := 0; i < 10; i++ {
						lines = append(lines, pantherLine(tc.Log, 8080+i, at+int64(i)*10))
					}
				default:
					lines = append(lines, pantherLine(tc.Log, 0, at))
				}
				dir := t.TempDir()
				if _, err := querytest.WriteLake(ctx, engine.LakeDir(dir), strings.NewReader(strings.Join(lines, "\n")), format); err != nil {
					t.Fatal(err)
				}
				eng, err := engine.Open(ctx, "", dir)
				if err != nil {
					t.Fatal(err)
				}
				defer eng.Close()
				rp := NewRunner(eng, []*Rule{rule}, Options{}).Run(ctx, start, start.Add(time.Hour))
				if err := rp.Err(); err != nil {
					t.Fatal(err)
				}
				if got := len(rp.Alerts) > 0; got != tc.Expected {
					t.Errorf("%s on %v: alert %v, Panther expects %v\nlines:\n%s", ruleID, tc.Log, got, tc.Expected, strings.Join(lines, "\n"))
				}
				// Panther grades port scans from inside the estate high.
				if ruleID == "port-scan-vertical" && tc.Expected && len(rp.Alerts) > 0 {
					want := alert.Medium
					if strings.Contains(tc.Name, "Internal") || strings.HasPrefix(fmt.Sprint(tc.Log["srcAddr"]), "10.") {
						want = alert.High
					}
					if rp.Alerts[0].Severity != want {
						t.Errorf("severity %s, want %s", rp.Alerts[0].Severity, want)
					}
				}
				checked++
			})
		}
	}
	if checked < 20 {
		t.Errorf("checked %d Panther events, want all 24 of the matching rules", checked)
	}
}
