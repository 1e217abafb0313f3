package source

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/parquet-go/parquet-go"
)

// parquetMagic starts (and ends) every Parquet file.
const parquetMagic = "PAR1"

// parquetText renders the rows of an AWS-delivered Parquet object as flow-log
// lines: first a header line naming the columns (AWS names for the fields the
// registry knows, so column order and spelling never matter), then one line per
// row with "-" for nulls. Line N+1 of the text is row N of the object.
type parquetText struct {
	pf     *parquet.File
	groups []parquet.RowGroup
	rows   parquet.Rows
	buf    []parquet.Row
	out    []byte
	off    int
	tags   []bool // per leaf column: percent-encode (tag fields)
	ncols  int
	err    error
}

func openParquet(f *os.File, size int64) (io.Reader, error) {
	pf, err := parquet.OpenFile(f, size, parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("read Parquet footer: %w", err)
	}
	cols := pf.Schema().Columns()
	p := &parquetText{pf: pf, groups: pf.RowGroups(), buf: make([]parquet.Row, 256), tags: make([]bool, len(cols)), ncols: len(cols)}
	names := make([]string, len(cols))
	for i, path := range cols {
		if len(path) != 1 {
			return nil, fmt.Errorf("column %s: nested columns are not flow-log fields", strings.Join(path, "."))
		}
		name := path[0]
		if fld, ok := flowlog.Lookup(name); ok {
			names[i] = fld.Name
			p.tags[i] = fld.Tags
		} else {
			names[i] = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		}
	}
	p.out = append(p.out, strings.Join(names, " ")...)
	p.out = append(p.out, '\n')
	return p, nil
}

func (p *parquetText) Read(b []byte) (int, error) {
	for p.off >= len(p.out) {
		if p.err != nil {
			return 0, p.err
		}
		p.out, p.off = p.out[:0], 0
		p.fill()
	}
	n := copy(b, p.out[p.off:])
	p.off += n
	return n, nil
}

// fill renders the next rows into p.out, or sets p.err.
func (p *parquetText) fill() {
	for p.rows == nil {
		if len(p.groups) == 0 {
			p.err = io.EOF
			return
		}
		p.rows = p.groups[0].Rows()
		p.groups = p.groups[1:]
	}
	n, err := p.rows.ReadRows(p.buf)
	for _, row := range p.buf[:n] {
		p.appendRow(row)
	}
	if err == io.EOF || (n == 0 && err == nil) {
		p.rows.Close()
		p.rows = nil
		return
	}
	if err != nil {
		p.err = fmt.Errorf("read Parquet rows: %w", err)
	}
}

func (p *parquetText) appendRow(row parquet.Row) {
	vals := make([]parquet.Value, p.ncols)
	for _, v := range row {
		if c := v.Column(); c >= 0 && c < p.ncols {
			vals[c] = v
		}
	}
	for i, v := range vals {
		if i > 0 {
			p.out = append(p.out, ' ')
		}
		if v.IsNull() {
			p.out = append(p.out, '-')
			continue
		}
		switch v.Kind() {
		case parquet.Int32:
			p.out = strconv.AppendInt(p.out, int64(v.Int32()), 10)
		case parquet.Int64:
			p.out = strconv.AppendInt(p.out, v.Int64(), 10)
		case parquet.Boolean:
			p.out = strconv.AppendBool(p.out, v.Boolean())
		case parquet.Float:
			p.out = strconv.AppendFloat(p.out, float64(v.Float()), 'g', -1, 32)
		case parquet.Double:
			p.out = strconv.AppendFloat(p.out, v.Double(), 'g', -1, 64)
		default:
			s := v.ByteArray()
			if len(s) == 0 {
				p.out = append(p.out, '-')
				continue
			}
			p.out = appendToken(p.out, s, p.tags[i])
		}
	}
	p.out = append(p.out, '\n')
}

// appendToken writes s as one space-free value: tag fields are
// percent-encoded (the parser decodes them), other values have their blanks
// percent-encoded so they cannot split the line.
func appendToken(dst, s []byte, tags bool) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if c <= ' ' || c == 0x7f || tags && (c == '%' || c >= 0x80) {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
