package visibility

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

// ValidateSearchAttributes checks search attributes a client asks to set
// (on start, signal-with-start, upsert, continue-as-new, schedule) against
// the namespace's custom attribute registry. Temporal rejects these with
// InvalidArgument before anything is written, so SDK tests expect the
// failure at the call, not later in a listing; the returned *Error carries
// Temporal's wording. Attributes are checked in name order so the error is
// deterministic. Size limits are not checked here.
func ValidateSearchAttributes(attrs *commonpb.SearchAttributes, custom map[string]enumspb.IndexedValueType) error {
	fields := attrs.GetIndexedFields()
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		t, err := settableType(name, custom)
		if err != nil {
			return err
		}
		p := fields[name]
		if _, err := DecodeValue(p, t); err != nil {
			return &Error{Msg: fmt.Sprintf("invalid value for search attribute %s of type %s: %v", name, t, shown(p))}
		}
	}
	return nil
}

// settableType returns the type of an attribute a client may write.
func settableType(name string, custom map[string]enumspb.IndexedValueType) (enumspb.IndexedValueType, error) {
	if _, ok := systemAttrs[name]; ok {
		return 0, &Error{Msg: fmt.Sprintf("%s attribute can't be set in SearchAttributes", name)}
	}
	if t, ok := predefinedAttrs[name]; ok {
		if !userSettable[name] {
			return 0, &Error{Msg: fmt.Sprintf("%s attribute can't be set in SearchAttributes", name)}
		}
		return t, nil
	}
	if t, ok := custom[name]; ok && !reservedNames[name] {
		return t, nil
	}
	return 0, &Error{Msg: fmt.Sprintf("search attribute %s is not defined", name)}
}

// shown renders a rejected value for the error message: its JSON value if
// it is JSON, else the payload itself.
func shown(p *commonpb.Payload) any {
	var v any
	if string(p.GetMetadata()[metaEncoding]) == encodingJSON && json.Unmarshal(p.GetData(), &v) == nil {
		return v
	}
	return fmt.Sprintf("value from <%s>", p.String())
}
