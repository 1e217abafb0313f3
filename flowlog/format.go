package flowlog

import (
	"fmt"
	"strings"
)

// FormatField is one position of a Format.
type FormatField struct {
	ID   FieldID // Unknown for fields the registry does not know
	Name string  // the AWS name, or the name as written for unknown fields
}

// Column returns the SQL column name of the field.
func (ff FormatField) Column() string {
	if ff.ID == Unknown {
		return strings.ReplaceAll(ff.Name, "-", "_")
	}
	return registry[ff.ID].Column
}

// Format is the ordered list of fields of a flow log, as declared by a format
// string or an S3 header line.
type Format struct {
	Fields []FormatField
	// Notes explains what was accepted but not written as AWS writes it, such as
	// aliases ("windowstart is AWS's start").
	Notes []string

	pos     [NumFields]int16 // position of each registered field, or -1
	unknown []string         // names of unknown fields, in order
}

// FormatError is a format string that cannot be used. Pos is a byte offset into
// the format text.
type FormatError struct {
	Pos int
	Msg string
}

func (e *FormatError) Error() string { return fmt.Sprintf("format column %d: %s", e.Pos+1, e.Msg) }

// ParseFormat reads a format in either of AWS's forms: `${version} ${srcaddr} …`
// (as given to create-flow-logs) or the plain header line `version srcaddr …`
// (as written at the top of S3 objects). Column names (`log_status`) and the
// aliases of the registry are accepted too; an alias adds a note naming the AWS
// field. Unknown names are kept as string fields.
func ParseFormat(s string) (*Format, error) {
	f := &Format{}
	for i := range f.pos {
		f.pos[i] = -1
	}
	seen := map[string]int{}
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		at := i
		var name string
		if strings.HasPrefix(s[i:], "${") {
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, &FormatError{Pos: at, Msg: `"${" without a closing "}"`}
			}
			name = s[i+2 : i+j]
			i += j + 1
			if i < len(s) && !isSpace(s[i]) {
				return nil, &FormatError{Pos: i, Msg: fmt.Sprintf("expected a space after ${%s}, found %q", name, s[i])}
			}
		} else {
			j := i
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
			name = s[i:j]
			i = j
		}
		if !validName(name) {
			return nil, &FormatError{Pos: at, Msg: fmt.Sprintf("invalid field name %q: expected letters, digits, '-' or '_'", name)}
		}
		ff := FormatField{ID: Unknown, Name: name}
		if fld, ok := Lookup(name); ok {
			ff = FormatField{ID: fld.ID, Name: fld.Name}
			if a, ok := Alias(name); ok {
				f.Notes = append(f.Notes, fmt.Sprintf("%s is an alias: AWS calls this field %s", name, a.Name))
			}
		} else {
			ff.Name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		}
		if prev, dup := seen[ff.Name]; dup {
			return nil, &FormatError{Pos: at, Msg: fmt.Sprintf("field %s appears twice (first at column %d)", ff.Name, prev+1)}
		}
		seen[ff.Name] = at
		if ff.ID == Unknown {
			f.unknown = append(f.unknown, ff.Name)
		} else {
			f.pos[ff.ID] = int16(len(f.Fields))
		}
		f.Fields = append(f.Fields, ff)
	}
	if len(f.Fields) == 0 {
		return nil, &FormatError{Pos: 0, Msg: "empty format: expected at least one field such as ${srcaddr}"}
	}
	return f, nil
}

// MustFormat is ParseFormat for formats known to be valid; it panics otherwise.
func MustFormat(s string) *Format {
	f, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

// Default returns the AWS default (version 2) format.
func Default() *Format { return defaultFormat }

var defaultFormat = MustFormat(DefaultFormat)

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Has reports whether the format includes field id.
func (f *Format) Has(id FieldID) bool { return id != Unknown && f.pos[id] >= 0 }

// Unknown returns the names of the format's fields that the registry does not know.
func (f *Format) Unknown() []string { return f.unknown }

// Len returns the number of fields.
func (f *Format) Len() int { return len(f.Fields) }

// Version returns the flow-log version of the format: the highest version among
// its fields, as AWS computes it.
func (f *Format) Version() int {
	v := 2
	for _, ff := range f.Fields {
		if ff.ID != Unknown && registry[ff.ID].Version > v {
			v = registry[ff.ID].Version
		}
	}
	return v
}

// String returns the format as a `${field}` string.
func (f *Format) String() string {
	var b strings.Builder
	for i, ff := range f.Fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(ff.Name)
		b.WriteByte('}')
	}
	return b.String()
}

// Header returns the format as the header line AWS writes at the top of S3 objects.
func (f *Format) Header() string {
	names := make([]string, len(f.Fields))
	for i, ff := range f.Fields {
		names[i] = ff.Name
	}
	return strings.Join(names, " ")
}

// Equal reports whether two formats have the same fields in the same order.
func (f *Format) Equal(g *Format) bool {
	if len(f.Fields) != len(g.Fields) {
		return false
	}
	for i := range f.Fields {
		if f.Fields[i] != g.Fields[i] {
			return false
		}
	}
	return true
}

// IsHeader reports whether line is a header line naming fields rather than a
// record: its first token is a registered field name as AWS writes it, and every
// token looks like a field name. Records never start with a field name: their
// first value is a number, an ID or '-'.
func IsHeader(line []byte) bool {
	line = trimEOL(line)
	first := true
	for i := 0; i < len(line); {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		tok := line[i:j]
		if first {
			if _, ok := headerNames[string(tok)]; !ok {
				return false
			}
			first = false
		} else if !lowerName(tok) {
			return false
		}
		i = j
	}
	return !first
}

var headerNames = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, f := range registry {
		m[f.Name] = struct{}{}
	}
	for a := range aliases {
		m[a] = struct{}{}
	}
	return m
}()

func lowerName(b []byte) bool {
	if len(b) == 0 || b[0] < 'a' || b[0] > 'z' {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// knownLayouts are AWS's documented layouts, used only when the caller asks for
// the format to be guessed from the number of values (GuessFormat).
var knownLayouts = []*Format{
	defaultFormat,
	MustFormat("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"),
	MustFormat("version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status"),
	MustFormat("version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"),
	MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"),
	MustFormat("version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service"),
	MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id"),
	MustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason"),
}

// GuessFormat picks one of AWS's documented layouts by the number of values on a
// line (14 default, 6 NAT gateway, 17 and 21 the documented custom examples,
// 29 all v2–v5 fields, 36 transit gateway, 39 v7, 40 v8). It is only a guess and
// callers must say so; ok is false when no layout has that many fields.
func GuessFormat(line []byte) (f *Format, ok bool) {
	n := countTokens(trimEOL(line))
	for _, l := range knownLayouts {
		if l.Len() == n {
			return l, true
		}
	}
	return nil, false
}

func countTokens(line []byte) int {
	n := 0
	for i := 0; i < len(line); {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		n++
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
	}
	return n
}
