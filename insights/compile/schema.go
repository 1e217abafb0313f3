package compile

import "strings"

// Schema resolves field names written in a query to columns of the table.
type Schema interface {
	// Resolve maps a field name as written (srcAddr, log-status, startTime)
	// to the column name and its SQL type (INTEGER, BIGINT, VARCHAR, ...).
	Resolve(name string) (column, typ string, ok bool)
	// Columns lists the table's columns in order.
	Columns() []string
}

// Column describes one column for NewSchema.
type Column struct {
	Name string // the column name in SQL, e.g. log_status
	Type string // its SQL type, e.g. VARCHAR
	// Aliases are other names for the column, e.g. logStatus, startTime.
	Aliases []string
}

// NewSchema returns a Schema over columns in which names resolve ignoring
// case, "-" and "_" (srcAddr = srcaddr, log-status = log_status), through the
// column name or any alias. Earlier columns win when two normalise alike.
func NewSchema(columns []Column) Schema {
	s := &schema{byName: make(map[string]int)}
	for i, c := range columns {
		s.cols = append(s.cols, c)
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			k := NormalizeName(n)
			if _, ok := s.byName[k]; !ok {
				s.byName[k] = i
			}
		}
	}
	return s
}

type schema struct {
	cols   []Column
	byName map[string]int
}

func (s *schema) Resolve(name string) (string, string, bool) {
	i, ok := s.byName[NormalizeName(name)]
	if !ok {
		return "", "", false
	}
	return s.cols[i].Name, s.cols[i].Type, true
}

func (s *schema) Columns() []string {
	out := make([]string, len(s.cols))
	for i, c := range s.cols {
		out[i] = c.Name
	}
	return out
}

// NormalizeName is the key under which field names match: lower case,
// without "-" and "_".
func NormalizeName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, name)
}
