package matching

import "strconv"

// ShardKey is the key a task queue hashes by, with its namespace, to the
// cluster shard whose owner node holds the queue (docs/CLUSTER.md): polls
// of the queue are forwarded there, and tasks are sent there. The zero
// bytes keep it apart from workflow ids, which share the hash space.
func ShardKey(kind Kind, name string) string {
	return "\x00queue\x00" + strconv.Itoa(int(kind)) + "\x00" + name
}
