package execution

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The snapshot encoding (snapshot.go) is the protobuf wire format written
// by hand, as store.RunRecord's is: no generated code, compact, and a
// decoder skips what it does not know. These are its building blocks.

// snapWriter appends fields; the first error sticks.
type snapWriter struct {
	b   []byte
	err error
}

func (w *snapWriter) uint(n protowire.Number, v uint64) {
	if v == 0 {
		return
	}
	w.b = protowire.AppendTag(w.b, n, protowire.VarintType)
	w.b = protowire.AppendVarint(w.b, v)
}

// int writes a signed integer (two's complement, as proto's int64).
func (w *snapWriter) int(n protowire.Number, v int64) { w.uint(n, uint64(v)) }

func (w *snapWriter) bool(n protowire.Number, v bool) {
	if v {
		w.uint(n, 1)
	}
}

func (w *snapWriter) str(n protowire.Number, s string) {
	if s != "" {
		w.strAlways(n, s)
	}
}

// strAlways writes s even when empty (an element of a repeated field).
func (w *snapWriter) strAlways(n protowire.Number, s string) {
	w.b = protowire.AppendTag(w.b, n, protowire.BytesType)
	w.b = protowire.AppendString(w.b, s)
}

// time writes t as seconds and nanoseconds since the epoch (any year, not
// only those UnixNano covers); the zero time is omitted.
func (w *snapWriter) time(n protowire.Number, t time.Time) {
	if t.IsZero() {
		return
	}
	sec, nsec := protowire.EncodeZigZag(t.Unix()), uint64(t.Nanosecond())
	w.b = protowire.AppendTag(w.b, n, protowire.BytesType)
	w.b = protowire.AppendVarint(w.b, uint64(protowire.SizeVarint(sec)+protowire.SizeVarint(nsec)))
	w.b = protowire.AppendVarint(w.b, sec)
	w.b = protowire.AppendVarint(w.b, nsec)
}

// msg writes a protobuf message; nil is omitted, so a present empty
// message and an absent one stay distinct.
func (w *snapWriter) msg(n protowire.Number, m proto.Message) {
	if w.err != nil || m == nil || !m.ProtoReflect().IsValid() {
		return
	}
	w.b = protowire.AppendTag(w.b, n, protowire.BytesType)
	size := proto.Size(m)
	w.b = protowire.AppendVarint(w.b, uint64(size))
	var err error
	w.b, err = proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(w.b, m)
	if err != nil {
		w.err = fmt.Errorf("execution: snapshot field %d: %w", n, err)
	}
}

// nested writes what fill writes as one length-delimited field, in place:
// one byte is reserved for the length, and the content moved when its
// length needs more.
func (w *snapWriter) nested(n protowire.Number, fill func(*snapWriter)) {
	w.b = protowire.AppendTag(w.b, n, protowire.BytesType)
	at := len(w.b)
	w.b = append(w.b, 0)
	fill(w)
	size := uint64(len(w.b) - at - 1)
	if extra := protowire.SizeVarint(size) - 1; extra > 0 {
		w.b = append(w.b, make([]byte, extra)...)
		copy(w.b[at+1+extra:], w.b[at+1:len(w.b)-extra])
	}
	protowire.AppendVarint(w.b[at:at], size)
}

// errCorruptSnapshot is wrapped by every decoding error.
var errCorruptSnapshot = errors.New("corrupt run snapshot")

// snapField is one decoded field: v for varints, b for length-delimited.
type snapField struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

func (f snapField) int() int64    { return int64(f.v) }
func (f snapField) bool() bool    { return f.v != 0 }
func (f snapField) str() string   { return string(f.b) }
func (f snapField) isBytes() bool { return f.typ == protowire.BytesType }

func (f snapField) time() (time.Time, error) {
	sec, n := protowire.ConsumeVarint(f.b)
	if n < 0 {
		return time.Time{}, fmt.Errorf("%w: time of field %d", errCorruptSnapshot, f.num)
	}
	nsec, m := protowire.ConsumeVarint(f.b[n:])
	if m < 0 || nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: time of field %d", errCorruptSnapshot, f.num)
	}
	return time.Unix(protowire.DecodeZigZag(sec), int64(nsec)).UTC(), nil
}

// message decodes the field into a new message of m's type and returns it.
func snapMsg[M proto.Message](f snapField, m M) (M, error) {
	if err := proto.Unmarshal(f.b, m); err != nil {
		return m, fmt.Errorf("%w: field %d: %v", errCorruptSnapshot, f.num, err)
	}
	return m, nil
}

// readSnapFields calls fn for each field of b. Fields of wire types the
// encoding never uses are skipped, as unknown ones are.
func readSnapFields(b []byte, fn func(snapField) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", errCorruptSnapshot, protowire.ParseError(n))
		}
		b = b[n:]
		f := snapField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: %v", errCorruptSnapshot, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		if n < 0 {
			return fmt.Errorf("%w: %v", errCorruptSnapshot, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}
