package visibility

import (
	"reflect"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

// sdkPayload builds a payload as an SDK's default converter does.
func sdkPayload(data, typ string) *commonpb.Payload {
	md := map[string][]byte{"encoding": []byte("json/plain")}
	if typ != "" {
		md["type"] = []byte(typ)
	}
	return &commonpb.Payload{Metadata: md, Data: []byte(data)}
}

func TestDecodeValue(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	nullPayload := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
	cases := []struct {
		name string
		p    *commonpb.Payload
		t    enumspb.IndexedValueType
		want any
		err  string
	}{
		{"keyword", sdkPayload(`"abc"`, "Keyword"), kw, "abc", ""},
		{"text", sdkPayload(`"some words"`, ""), text, "some words", ""},
		{"keyword list", sdkPayload(`["a","b"]`, "KeywordList"), kwList, []string{"a", "b"}, ""},
		{"empty keyword list", sdkPayload(`[]`, "KeywordList"), kwList, []string{}, ""},
		{"int", sdkPayload(`42`, "Int"), intT, int64(42), ""},
		{"big int", sdkPayload(`9007199254740993`, "Int"), intT, int64(9007199254740993), ""},
		{"double", sdkPayload(`1.25`, "Double"), dbl, 1.25, ""},
		{"double from integer", sdkPayload(`3`, "Double"), dbl, 3.0, ""},
		{"bool", sdkPayload(`true`, "Bool"), boolT, true, ""},
		{"datetime", sdkPayload(`"2024-01-02T03:04:05.0000006Z"`, "Datetime"), dt, when, ""},
		{"type from metadata", sdkPayload(`7`, "Int"), enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED, int64(7), ""},
		{"one-element list", sdkPayload(`["abc"]`, ""), kw, "abc", ""},
		{"empty list is null", sdkPayload(`[]`, ""), intT, nil, ""},
		{"json null", sdkPayload(`null`, ""), kw, nil, ""},
		{"binary/null", nullPayload, intT, nil, ""},
		{"nil payload", nil, intT, nil, ""},
		{"int from float", sdkPayload(`1.5`, ""), intT, nil, "cannot unmarshal"},
		{"int from string", sdkPayload(`"1"`, ""), intT, nil, "cannot unmarshal"},
		{"keyword from number", sdkPayload(`1`, ""), kw, nil, "cannot unmarshal"},
		{"keyword from list", sdkPayload(`["a","b"]`, ""), kw, nil, "list of values not allowed"},
		{"keyword list from string", sdkPayload(`"a"`, ""), kwList, nil, "cannot unmarshal"},
		{"bad datetime", sdkPayload(`"yesterday"`, ""), dt, nil, "cannot parse"},
		{"bad json", sdkPayload(`{`, ""), kw, nil, "unexpected end"},
		{"no type", sdkPayload(`1`, ""), enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED, nil, "invalid search attribute type"},
		{"binary/plain", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte("x")}, kw, nil, `unsupported payload encoding "binary/plain"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeValue(c.p, c.t)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestEncodeValueRoundTrip(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, c := range []struct {
		v any
		t enumspb.IndexedValueType
	}{
		{"abc", kw}, {"a b", text}, {[]string{"x", "y"}, kwList}, {int64(-3), intT},
		{2.5, dbl}, {false, boolT}, {when, dt}, {nil, kw},
	} {
		p, err := EncodeValue(c.v, c.t)
		if err != nil {
			t.Fatal(err)
		}
		if c.v != nil && string(p.Metadata["type"]) != c.t.String() {
			t.Errorf("type metadata %q, want %q", p.Metadata["type"], c.t)
		}
		got, err := DecodeValue(p, enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED)
		if c.v == nil {
			got, err = DecodeValue(p, c.t)
		}
		if err != nil || !reflect.DeepEqual(got, c.v) {
			t.Errorf("round trip of %#v: got %#v, %v", c.v, got, err)
		}
	}
	if _, err := EncodeValue(make(chan int), kw); err == nil {
		t.Error("unencodable value accepted")
	}
}
