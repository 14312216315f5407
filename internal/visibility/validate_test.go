package visibility

import (
	"errors"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
)

func TestValidateSearchAttributes(t *testing.T) {
	nullPayload := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
	cases := []struct {
		name   string
		fields map[string]*commonpb.Payload
		want   string // "" for valid
	}{
		{"none", nil, ""},
		{"every type", map[string]*commonpb.Payload{
			"CustomKeywordField":     sdkPayload(`"k"`, "Keyword"),
			"CustomStringField":      sdkPayload(`"some text"`, "Text"),
			"CustomTextField":        sdkPayload(`"more"`, ""),
			"CustomIntField":         sdkPayload(`1`, "Int"),
			"CustomDoubleField":      sdkPayload(`1.5`, "Double"),
			"CustomBoolField":        sdkPayload(`true`, "Bool"),
			"CustomDatetimeField":    sdkPayload(`"2024-01-01T00:00:00Z"`, "Datetime"),
			"CustomKeywordListField": sdkPayload(`["a","b"]`, "KeywordList"),
		}, ""},
		{"unset with null", map[string]*commonpb.Payload{"CustomIntField": nullPayload}, ""},
		{"settable predefined", map[string]*commonpb.Payload{"BuildIds": sdkPayload(`["v1"]`, "")}, ""},
		{"system", map[string]*commonpb.Payload{"WorkflowId": sdkPayload(`"x"`, "")},
			"WorkflowId attribute can't be set in SearchAttributes"},
		{"server-owned predefined", map[string]*commonpb.Payload{"TemporalWorkerDeployment": sdkPayload(`"x"`, "")},
			"TemporalWorkerDeployment attribute can't be set in SearchAttributes"},
		{"unknown", map[string]*commonpb.Payload{"Nope": sdkPayload(`"x"`, "")},
			"search attribute Nope is not defined"},
		{"reserved", map[string]*commonpb.Payload{"Memo": sdkPayload(`"x"`, "")},
			"search attribute Memo is not defined"},
		{"int from string", map[string]*commonpb.Payload{"CustomIntField": sdkPayload(`"abc"`, "")},
			"invalid value for search attribute CustomIntField of type Int: abc"},
		{"int from float", map[string]*commonpb.Payload{"CustomIntField": sdkPayload(`1.5`, "")},
			"invalid value for search attribute CustomIntField of type Int: 1.5"},
		{"bool from string", map[string]*commonpb.Payload{"CustomBoolField": sdkPayload(`"true"`, "")},
			"invalid value for search attribute CustomBoolField of type Bool: true"},
		{"bad datetime", map[string]*commonpb.Payload{"CustomDatetimeField": sdkPayload(`"soon"`, "")},
			"invalid value for search attribute CustomDatetimeField of type Datetime: soon"},
		{"keyword list of many", map[string]*commonpb.Payload{"CustomKeywordField": sdkPayload(`["a","b"]`, "")},
			"invalid value for search attribute CustomKeywordField of type Keyword: [a b]"},
		{"keyword list from string", map[string]*commonpb.Payload{"CustomKeywordListField": sdkPayload(`"a"`, "")},
			"invalid value for search attribute CustomKeywordListField of type KeywordList: a"},
		{"not json", map[string]*commonpb.Payload{"CustomKeywordField": {Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte("x")}},
			"invalid value for search attribute CustomKeywordField of type Keyword: value from <"},
		{"first error by name", map[string]*commonpb.Payload{
			"ZZ": sdkPayload(`1`, ""), "AA": sdkPayload(`1`, ""),
		}, "search attribute AA is not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateSearchAttributes(&commonpb.SearchAttributes{IndexedFields: c.fields}, testAttrs())
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if got := e.Error(); len(got) < len(c.want) || got[:len(c.want)] != c.want {
				t.Errorf("got %q, want prefix %q", got, c.want)
			}
		})
	}
	if err := ValidateSearchAttributes(nil, nil); err != nil {
		t.Errorf("nil attributes: %v", err)
	}
}

func TestIsReservedName(t *testing.T) {
	for name, want := range map[string]bool{
		"WorkflowId": true, "BuildIds": true, "Memo": true, "TemporalFoo": true,
		"CustomKeywordField": false, "MyAttr": false,
	} {
		if got := IsReservedName(name); got != want {
			t.Errorf("IsReservedName(%q) = %v, want %v", name, got, want)
		}
	}
}
