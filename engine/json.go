package engine

import (
	"math"
	"time"
)

// JSONValue makes a result value encodable with encoding/json, also inside
// lists, structs and maps: times as RFC 3339 in UTC (with fractional seconds
// when there are any), NaN and infinities as null, blobs as text. Big integers
// need nothing: *big.Int encodes itself as a JSON number. The CLI's json and
// ndjson output and the HTTP API share it, so both write the same values.
func JSONValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case []byte:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	}
	return v
}
