package visibility

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

// Payload metadata as the SDKs' default data converter writes it.
const (
	metaEncoding = "encoding"
	metaType     = "type" // name of the IndexedValueType, e.g. "Keyword"
	encodingJSON = "json/plain"
	encodingNull = "binary/null"
)

// DecodeValue decodes a search attribute payload as type t, or as the type
// named in the payload's "type" metadata when t is unspecified. It returns
// nil for a null value (which Temporal treats as "remove the attribute"),
// string for Keyword and Text, []string for KeywordList, int64, float64,
// bool or time.Time. As in Temporal, a one-element JSON list is accepted
// for a single-valued type and an empty list means null.
func DecodeValue(p *commonpb.Payload, t enumspb.IndexedValueType) (any, error) {
	if p == nil {
		return nil, nil
	}
	if t == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
		t, _ = enumspb.IndexedValueTypeFromString(string(p.GetMetadata()[metaType]))
	}
	switch enc := string(p.GetMetadata()[metaEncoding]); enc {
	case encodingNull:
		return nil, nil
	case encodingJSON:
	default:
		return nil, fmt.Errorf("unsupported payload encoding %q", enc)
	}
	d := p.GetData()
	switch t {
	case kw, text:
		return decodeJSON[string](d)
	case kwList:
		return decodeJSON[[]string](d)
	case intT:
		return decodeJSON[int64](d)
	case dbl:
		return decodeJSON[float64](d)
	case boolT:
		return decodeJSON[bool](d)
	case dt:
		return decodeJSON[time.Time](d)
	}
	return nil, fmt.Errorf("invalid search attribute type %v", t)
}

// decodeJSON decodes a T, a null, or a JSON list holding at most one T.
func decodeJSON[T any](data []byte) (any, error) {
	var v *T
	err := json.Unmarshal(data, &v)
	if err == nil {
		if v == nil {
			return nil, nil
		}
		return *v, nil
	}
	var list []T
	if json.Unmarshal(data, &list) != nil {
		return nil, err // the single-value error says more
	}
	switch len(list) {
	case 0:
		return nil, nil
	case 1:
		return list[0], nil
	}
	return nil, errors.New("list of values not allowed for this type")
}

// EncodeValue encodes v as the SDKs do for a search attribute of type t:
// JSON with "encoding: json/plain" and the type name in "type" metadata.
// A nil v becomes a null payload.
func EncodeValue(v any, t enumspb.IndexedValueType) (*commonpb.Payload, error) {
	if v == nil {
		return &commonpb.Payload{Metadata: map[string][]byte{metaEncoding: []byte(encodingNull)}}, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	md := map[string][]byte{metaEncoding: []byte(encodingJSON)}
	if t != enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
		md[metaType] = []byte(t.String())
	}
	return &commonpb.Payload{Metadata: md, Data: data}, nil
}
