package engine

import (
	"encoding/json"
	"math"
	"math/big"
	"testing"
	"time"
)

func TestJSONValue(t *testing.T) {
	big128, _ := new(big.Int).SetString("170141183460469231731687303715884105727", 10)
	var nilBig *big.Int
	v := []any{
		time.Date(2024, 3, 1, 10, 0, 0, 5e8, time.FixedZone("x", 3600)), math.NaN(), math.Inf(1), 1.5,
		[]byte("a\\x00"), big128, nilBig, map[string]any{"t": time.Unix(0, 0)}, nil,
	}
	b, err := json.Marshal(JSONValue(v))
	if err != nil {
		t.Fatal(err)
	}
	want := `["2024-03-01T09:00:00.5Z",null,null,1.5,"a\\x00",170141183460469231731687303715884105727,null,{"t":"1970-01-01T00:00:00Z"},null]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
