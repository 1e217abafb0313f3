package insights

import "testing"

// TestPeriodUnits checks every unit spelling that AWS documents for bin:
// "millisecond ms msec, second s sec, minute m min, hour h hr, day d,
// week w, month mo mon, quarter q qtr, year y yr. For all units and
// abbreviations that include more than one character, adding s to
// pluralize is supported."
func TestPeriodUnits(t *testing.T) {
	documented := map[string][]string{
		"ms": {"millisecond", "ms", "msec"},
		"s":  {"second", "s", "sec"},
		"m":  {"minute", "m", "min"},
		"h":  {"hour", "h", "hr"},
		"d":  {"day", "d"},
		"w":  {"week", "w"},
		"mo": {"month", "mo", "mon"},
		"q":  {"quarter", "q", "qtr"},
		"y":  {"year", "y", "yr"},
	}
	for unit, spellings := range documented {
		for _, sp := range spellings {
			forms := []string{sp}
			if len(sp) > 1 {
				forms = append(forms, sp+"s")
			}
			for _, form := range forms {
				q, err := Parse("stats count(*) by bin(2" + form + ")")
				if err != nil {
					t.Errorf("bin(2%s): %v", form, err)
					continue
				}
				d := q.Commands[0].(*StatsCmd).By[0].X.(*CallExpr).Args[0].(*DurationLit)
				if d.N != 2 || d.Unit != unit {
					t.Errorf("bin(2%s) = %d %s, want 2 %s", form, d.N, d.Unit, unit)
				}
			}
		}
	}
}
