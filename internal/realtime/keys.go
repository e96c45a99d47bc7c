package realtime

// The hub's only Redis names are its pub/sub channels. Channels are not keys,
// but they carry the workspace hash tag like every key of the workspace so
// that sharded pub/sub (SPUBLISH) on Redis Cluster can route them by slot.

func channelPrefix(workspace string) string { return "sb:{" + workspace + "}:rt:" }

// Channel returns the Redis pub/sub channel that carries topic between
// gateways: sb:{<workspace>}:rt:<topic>.
func (h *Hub) Channel(topic string) string { return h.prefix + topic }
