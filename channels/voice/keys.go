package voice

// Every key of the channel shares the workspace hash tag with the rest of
// the installation, so they sit on one Redis Cluster shard.

// callKey is the hash of one call's state (see callState), by CallSid.
func callKey(ws, callSid string) string { return "sb:{" + ws + "}:voice:call:" + callSid }

// convKey maps a conversation to the CallSid of its call, for routing
// events, which name the conversation only.
func convKey(ws, conversationID string) string { return "sb:{" + ws + "}:voice:conv:" + conversationID }

// callbacksKey is the sorted set of callbacks due, CallSid scored by the
// due time in Unix milliseconds. Any gateway's Run claims due members.
func callbacksKey(ws string) string { return "sb:{" + ws + "}:voice:callbacks" }

// pendingKey maps a caller's number to the CallSid of their booked
// callback while it waits for an agent, so that a new call from the
// number takes the callback's place instead of queueing a second time.
func pendingKey(ws, number string) string { return "sb:{" + ws + "}:voice:pending:" + number }
