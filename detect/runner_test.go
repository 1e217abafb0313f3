package detect

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReportErr checks that a failure every rule shares (the engine cannot
// read the range) is reported once, not once per rule.
func TestReportErr(t *testing.T) {
	shared := "find the records of the range: query stopped after its time limit of 1ns"
	tests := []struct {
		name string
		errs []error
		want string
	}{
		{"none", []error{nil, nil}, ""},
		{"one rule", []error{nil, errors.New("rule a: boom")}, "rule a: boom"},
		{"the same error for every rule", []error{errors.New(shared), errors.New(shared), nil, errors.New(shared)}, shared},
		{"different errors", []error{errors.New("rule a: boom"), errors.New("rule b: bang"), errors.New("rule a: boom")}, "rule a: boom\nrule b: bang"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rp := &Report{}
			for _, e := range tc.errs {
				rp.Rules = append(rp.Rules, RuleResult{Err: e})
			}
			got := ""
			if err := rp.Err(); err != nil {
				got = err.Error()
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Err() (-want +got):\n%s", d)
			}
		})
	}
}
