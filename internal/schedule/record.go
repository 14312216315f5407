package schedule

import (
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// state is everything stored about one schedule: its definition as
// DescribeSchedule reports it and the scheduler's progress.
type state struct {
	Schedule *schedulepb.Schedule     // spec in canonical form
	Info     *schedulepb.ScheduleInfo // without future_action_times (computed)
	Memo     *commonpb.Memo
	Search   *commonpb.SearchAttributes
	// Token is the conflict token: it changes with every update, pause
	// change and use of a limited action.
	Token int64
	// Cursor: every nominal time up to it has been handled (started,
	// buffered, skipped or missed). The next scheduled firing is the
	// spec's first nominal time after it.
	Cursor time.Time
	// Buffer holds starts waiting for their turn (overlap policy) or not
	// yet made: a start leaves the buffer in the same write that records it.
	Buffer []*pending
	// Backfills are the parts of backfill requests not yet buffered; their
	// start time moves forward as they are.
	Backfills []*schedulepb.BackfillRequest
	// LastResult and LastFailure are passed to the next workflow started,
	// as Temporal's schedules do.
	LastResult  *commonpb.Payloads
	LastFailure *failurepb.Failure
}

// pending is one start to make.
type pending struct {
	Nominal, Actual time.Time
	Overlap         enumspb.ScheduleOverlapPolicy // UNSPECIFIED: the schedule's
	Manual          bool                          // trigger or backfill
	// RequestID of a manual start, chosen when it is buffered (and stored
	// with it); scheduled starts derive theirs from the nominal time.
	RequestID string
}

// Field numbers of the encoding (protobuf wire format by hand, like
// store.RunRecord's, so old binaries skip fields that newer ones add).
const (
	fSchedule    protowire.Number = 1
	fInfo        protowire.Number = 2
	fMemo        protowire.Number = 3
	fSearch      protowire.Number = 4
	fToken       protowire.Number = 5
	fCursor      protowire.Number = 6
	fBuffer      protowire.Number = 7
	fBackfill    protowire.Number = 8
	fLastResult  protowire.Number = 9
	fLastFailure protowire.Number = 10

	fpNominal protowire.Number = 1
	fpActual  protowire.Number = 2
	fpOverlap protowire.Number = 3
	fpManual  protowire.Number = 4
	fpRequest protowire.Number = 5
)

func appendMsg(b []byte, n protowire.Number, m proto.Message) ([]byte, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return b, nil
	}
	v, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, v), nil
}

func appendVarint(b []byte, n protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func timeBits(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func bitsTime(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v)).UTC()
}

func (s *state) marshal() ([]byte, error) {
	var b []byte
	var err error
	for _, f := range []struct {
		n protowire.Number
		m proto.Message
	}{{fSchedule, s.Schedule}, {fInfo, s.Info}, {fMemo, s.Memo}, {fSearch, s.Search}} {
		if b, err = appendMsg(b, f.n, f.m); err != nil {
			return nil, err
		}
	}
	b = appendVarint(b, fToken, uint64(s.Token))
	b = appendVarint(b, fCursor, timeBits(s.Cursor))
	for _, p := range s.Buffer {
		var pb []byte
		pb = appendVarint(pb, fpNominal, timeBits(p.Nominal))
		pb = appendVarint(pb, fpActual, timeBits(p.Actual))
		pb = appendVarint(pb, fpOverlap, uint64(p.Overlap))
		if p.Manual {
			pb = appendVarint(pb, fpManual, 1)
		}
		if p.RequestID != "" {
			pb = protowire.AppendTag(pb, fpRequest, protowire.BytesType)
			pb = protowire.AppendString(pb, p.RequestID)
		}
		b = protowire.AppendTag(b, fBuffer, protowire.BytesType)
		b = protowire.AppendBytes(b, pb)
	}
	for _, bf := range s.Backfills {
		if b, err = appendMsg(b, fBackfill, bf); err != nil {
			return nil, err
		}
	}
	if s.LastResult != nil {
		if b, err = appendMsg(b, fLastResult, s.LastResult); err != nil {
			return nil, err
		}
	}
	if s.LastFailure != nil {
		if b, err = appendMsg(b, fLastFailure, s.LastFailure); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// forEachField walks the top-level fields of an encoding.
func forEachField(b []byte, fn func(n protowire.Number, t protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		var v []byte
		var x uint64
		switch t {
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, l = protowire.ConsumeVarint(b)
		default:
			l = protowire.ConsumeFieldValue(n, t, b)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if err := fn(n, t, v, x); err != nil {
			return err
		}
	}
	return nil
}

func unmarshalState(b []byte) (*state, error) {
	s := &state{Schedule: &schedulepb.Schedule{}, Info: &schedulepb.ScheduleInfo{}}
	err := forEachField(b, func(n protowire.Number, t protowire.Type, v []byte, x uint64) error {
		msg := func(m proto.Message) error { return proto.Unmarshal(v, m) }
		switch n {
		case fSchedule:
			return msg(s.Schedule)
		case fInfo:
			return msg(s.Info)
		case fMemo:
			s.Memo = &commonpb.Memo{}
			return msg(s.Memo)
		case fSearch:
			s.Search = &commonpb.SearchAttributes{}
			return msg(s.Search)
		case fToken:
			s.Token = int64(x)
		case fCursor:
			s.Cursor = bitsTime(x)
		case fBuffer:
			p := &pending{}
			if err := forEachField(v, func(n protowire.Number, _ protowire.Type, v []byte, x uint64) error {
				switch n {
				case fpRequest:
					p.RequestID = string(v)
				case fpNominal:
					p.Nominal = bitsTime(x)
				case fpActual:
					p.Actual = bitsTime(x)
				case fpOverlap:
					p.Overlap = enumspb.ScheduleOverlapPolicy(x)
				case fpManual:
					p.Manual = x != 0
				}
				return nil
			}); err != nil {
				return err
			}
			s.Buffer = append(s.Buffer, p)
		case fBackfill:
			bf := &schedulepb.BackfillRequest{}
			s.Backfills = append(s.Backfills, bf)
			return msg(bf)
		case fLastResult:
			s.LastResult = &commonpb.Payloads{}
			return msg(s.LastResult)
		case fLastFailure:
			s.LastFailure = &failurepb.Failure{}
			return msg(s.LastFailure)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: corrupt record: %w", err)
	}
	return s, nil
}
