package execution

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
)

// Diff compares two states field by field, unexported fields included, and
// returns the paths where they differ (empty when equal). It is the
// consistency check between a run loaded from its snapshot and the same
// run replayed from history (snapshot_test.go, and the engine's check mode
// SUNDIAL_TEST_SNAPSHOT_CHECK): being reflection-based, it sees every
// field, including ones added after the snapshot encoding was written.
//
// Fields that are not part of a run's durable state are skipped: the
// history limits (set by the engine), the outbox and the Nexus endpoint
// lookups of a workflow task being completed. Nil and empty maps and
// slices are equal (they behave the same); protobuf messages are compared
// with proto.Equal and times with time.Time.Equal.
func Diff(a, b *State) []string {
	d := &differ{}
	d.value("State", reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem())
	return d.out
}

// diffSkipped are the State fields Diff ignores (see Diff).
var diffSkipped = map[string]bool{"lim": true, "activityRules": true, "out": true, "nexusEndpoints": true}

type differ struct{ out []string }

var (
	timeType    = reflect.TypeOf(time.Time{})
	messageType = reflect.TypeOf((*proto.Message)(nil)).Elem()
)

func (d *differ) add(path string, format string, args ...any) {
	if len(d.out) < 50 {
		d.out = append(d.out, path+": "+fmt.Sprintf(format, args...))
	}
}

// readable returns v with the read-only flag of an unexported field
// removed, so Interface works on it. v must be addressable.
func readable(v reflect.Value) reflect.Value {
	if v.CanInterface() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func (d *differ) value(path string, a, b reflect.Value) {
	t := a.Type()
	if t.Implements(messageType) {
		ma, _ := readable(a).Interface().(proto.Message)
		mb, _ := readable(b).Interface().(proto.Message)
		if !proto.Equal(ma, mb) {
			d.add(path, "%v != %v", ma, mb)
		}
		return
	}
	if t == timeType {
		ta, tb := readable(a).Interface().(time.Time), readable(b).Interface().(time.Time)
		if !ta.Equal(tb) {
			d.add(path, "%v != %v", ta, tb)
		}
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if t.Name() == "State" && diffSkipped[f.Name] {
				continue
			}
			d.value(path+"."+f.Name, readable(a.Field(i)), readable(b.Field(i)))
		}
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				d.add(path, "nil: %v != %v", a.IsNil(), b.IsNil())
			}
			return
		}
		d.value(path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			d.add(path, "length %d != %d", a.Len(), b.Len())
			return
		}
		for i := 0; i < a.Len(); i++ {
			d.value(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		keys := map[string]reflect.Value{}
		for _, k := range a.MapKeys() {
			keys[fmt.Sprint(readable(k).Interface())] = k
		}
		for _, k := range b.MapKeys() {
			keys[fmt.Sprint(readable(k).Interface())] = k
		}
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			k := keys[n]
			va, vb := a.MapIndex(k), b.MapIndex(k)
			p := fmt.Sprintf("%s[%s]", path, n)
			if !va.IsValid() || !vb.IsValid() {
				d.add(p, "present: %v != %v", va.IsValid(), vb.IsValid())
				continue
			}
			// Map values are not addressable: copy them to be.
			ca, cb := reflect.New(va.Type()).Elem(), reflect.New(vb.Type()).Elem()
			ca.Set(va)
			cb.Set(vb)
			d.value(p, ca, cb)
		}
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				d.add(path, "nil: %v != %v", a.IsNil(), b.IsNil())
			}
			return
		}
		d.value(path, a.Elem(), b.Elem())
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		d.add(path, "cannot compare a %v", a.Kind())
	default:
		if !reflect.DeepEqual(readable(a).Interface(), readable(b).Interface()) {
			d.add(path, "%v != %v", readable(a).Interface(), readable(b).Interface())
		}
	}
}

// SnapshotDiff is Diff between a run loaded from its snapshot and the same
// run loaded by replay, less the one difference that is deliberate: where
// the pending workflow task is dispatched (WFT.Queue, WFT.Sticky). Replay
// reads it from the task's scheduled event; the snapshot keeps where the
// task was last sent (ResetSticky and a sticky schedule-to-start timeout
// move it to the normal queue without an event), which is where matching
// holds it. Recover, which a run left by an earlier process goes through,
// puts both on the normal queue.
func SnapshotDiff(fromSnapshot, replayed *State) []string {
	var out []string
	for _, d := range Diff(fromSnapshot, replayed) {
		if strings.HasPrefix(d, "State.WFT.Queue:") || strings.HasPrefix(d, "State.WFT.Sticky:") {
			continue
		}
		out = append(out, d)
	}
	return out
}
