package pebblestore

import "encoding/binary"

// Key layout. Every key starts with a one-letter table prefix so each table
// is one contiguous range that a bounded iterator can scan:
//
//	m/version                          format version of the store
//	n/<name>                           namespace (DescribeNamespaceResponse)
//	c/<ns><wfid>                       run id of the current run
//	r/<ns><runid>                      RunRecord (store.RunRecord.Marshal)
//	o/<ns><runid>                      empty; present while the run is RUNNING
//	h/<ns><runid><first event id>      historypb.History of one appended batch
//	v/..., s/..., t/..., q/...         visibility index (see index.go)
//	a/<ns>                             custom search attributes (registry.go)
//	x/<ns><schedule id>                schedule record (schedules.go)
//	y/<ns><activity id><run id>        standalone activity execution (activityexecs.go)
//	d/<due><ns><runid>                 due index entry (due.go)
//
// String components are escaped and terminated (see appendComponent) so that
// no component can run into the next one, whatever bytes ids contain. Event
// ids are 8-byte big-endian so that byte order is numeric order.
const (
	versionKey    = "m/version"
	tableNS       = "n/"
	tableCurrent  = "c/"
	tableRun      = "r/"
	tableOpen     = "o/"
	tableHistory  = "h/"
	escapeByte    = 0x00
	escapedZero   = 0xff
	componentTerm = 0x01
)

// appendComponent appends s with every 0x00 byte written as 0x00 0xff and a
// 0x00 0x01 terminator. The encoding preserves byte order and is
// prefix-free, so "<a><b>" keys of different (a, b) never collide and all
// keys of one a share the prefix "<a>".
func appendComponent(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escapeByte {
			dst = append(dst, escapeByte, escapedZero)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, escapeByte, componentTerm)
}

// key builds table + the escaped components.
func key(table string, parts ...string) []byte {
	n := len(table)
	for _, p := range parts {
		n += len(p) + 2
	}
	k := make([]byte, 0, n+8)
	k = append(k, table...)
	for _, p := range parts {
		k = appendComponent(k, p)
	}
	return k
}

// historyKey is the key of the history batch of a run starting at firstID.
func historyKey(ns, runID string, firstID int64) []byte {
	return binary.BigEndian.AppendUint64(key(tableHistory, ns, runID), uint64(firstID))
}

// firstIDOf returns the first event id encoded at the end of a history key.
func firstIDOf(k []byte) int64 {
	return int64(binary.BigEndian.Uint64(k[len(k)-8:]))
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix, for use as an iterator's upper bound.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // prefix is all 0xff: no upper bound
}
