// Package lake is flowlens's Parquet store: the layout of the Hive-partitioned
// folder DATA/lake/vpc_flow_logs/year=YYYY/month=MM/day=DD/, the one schema every
// data file has, the writer that turns columnar batches of records into sorted,
// zstd-compressed Parquet files, and the catalog that makes ingests atomic and
// idempotent (staging, a durable catalog commit, publication by rename, and the
// recovery that finishes or rolls back an interrupted transaction). Compaction,
// retention, verification and status reports work on the same catalog.
//
// It sits between ingest (which parses sources into Batches and commits them
// through a Txn) and the engines, which read the partition folders directly
// with read_parquet(…, hive_partitioning=true).
//
// Main types: Batch (rows of one UTC day, columnar, in memory), Lake (an open
// data folder), Txn (one atomic change to the lake), Catalog (what is committed)
// and DataFile/Source (catalog entries).
package lake

import (
	"fmt"
	"sync"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/parquet-go/parquet-go"
)

// Table is the name of the lake's table: the folder under DATA/lake and the
// name of the SQL view.
const Table = "vpc_flow_logs"

// ExtraColumn holds a record's fields that the registry does not know, as a
// JSON object of strings (null values for "-"); it is null when there are none.
const ExtraColumn = "extra"

// Column is one column of the lake's data files.
type Column struct {
	Name string
	// Field is the registry field stored in the column; nil for ExtraColumn.
	Field *flowlog.Field
	// Physical is the Parquet type: INT32, INT64 or BYTE_ARRAY (UTF8).
	Physical string
}

// Columns returns the columns of every data file, in registry order followed by
// ExtraColumn. Every column is optional (nullable). Parquet files list columns
// in name order, and readers must select columns by name.
func Columns() []Column {
	cols := make([]Column, 0, flowlog.NumFields+1)
	for i := range flowlog.Fields() {
		f := &flowlog.Fields()[i]
		phys := "BYTE_ARRAY"
		switch f.Type {
		case flowlog.Int32:
			phys = "INT32"
		case flowlog.Int64:
			phys = "INT64"
		}
		cols = append(cols, Column{Name: f.Column, Field: f, Physical: phys})
	}
	return append(cols, Column{Name: ExtraColumn, Physical: "BYTE_ARRAY"})
}

// schemaInfo is the Parquet schema and where each field's leaf column is.
type schemaInfo struct {
	schema *parquet.Schema
	leaf   [flowlog.NumFields]int // leaf column index of each field
	extra  int                    // leaf column index of ExtraColumn
}

var schemaOnce = sync.OnceValue(func() *schemaInfo {
	g := parquet.Group{}
	for _, c := range Columns() {
		var n parquet.Node
		switch c.Physical {
		case "INT32":
			n = parquet.Int(32)
		case "INT64":
			n = parquet.Int(64)
		default:
			n = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
		}
		g[c.Name] = parquet.Optional(n)
	}
	s := parquet.NewSchema(Table, g)
	si := &schemaInfo{schema: s}
	for i := range flowlog.Fields() {
		lc, ok := s.Lookup(flowlog.Fields()[i].Column)
		if !ok {
			panic(fmt.Sprintf("lake: column %s missing from the schema", flowlog.Fields()[i].Column))
		}
		si.leaf[i] = lc.ColumnIndex
	}
	lc, _ := s.Lookup(ExtraColumn)
	si.extra = lc.ColumnIndex
	return si
})

// Schema returns the Parquet schema of every data file.
func Schema() *parquet.Schema { return schemaOnce().schema }
