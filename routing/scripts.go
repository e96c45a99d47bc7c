package routing

import (
	"embed"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// scripts holds one Redis script per operation. Each is the key segments
// (keys.go), lua/lib.lua and the operation's file, so it runs on its own.
type scripts struct {
	enqueue, accept, decline, close, transfer, abandon *redis.Script
	upsertAgent, agentState, heartbeat, recordEstimate *redis.Script
	recover, wrapup, presence, overflow, rematch       *redis.Script
	requeue, start                                     *redis.Script
}

func loadScripts() (*scripts, error) {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		return nil, fmt.Errorf("routing: read lib.lua: %w", err)
	}
	var firstErr error
	load := func(name string) *redis.Script {
		body, err := luaFiles.ReadFile("lua/" + name + ".lua")
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("routing: read %s.lua: %w", name, err)
		}
		return redis.NewScript(luaKeySegments + luaChannels() + string(lib) + "\n" + string(body))
	}
	s := &scripts{
		enqueue:        load("enqueue"),
		accept:         load("accept"),
		decline:        load("decline"),
		close:          load("close"),
		transfer:       load("transfer"),
		abandon:        load("abandon"),
		upsertAgent:    load("upsert_agent"),
		agentState:     load("agent_state"),
		heartbeat:      load("heartbeat"),
		recordEstimate: load("record_estimate"),
		recover:        load("recover"),
		wrapup:         load("wrapup"),
		presence:       load("presence"),
		overflow:       load("overflow"),
		rematch:        load("rematch"),
		requeue:        load("requeue"),
		start:          load("start"),
	}
	return s, firstErr
}

// luaChannels hands the scripts the channel vocabulary as configuration:
// every channel in order, and the exclusive one.
func luaChannels() string {
	quoted := make([]string, len(channels))
	for i, ch := range channels {
		quoted[i] = "'" + ch + "'"
	}
	return "local CHANNELS = {" + strings.Join(quoted, ", ") + "}\nlocal EXCLUSIVE = '" + chVoice + "'\n"
}

func (s *scripts) all() []*redis.Script {
	return []*redis.Script{s.enqueue, s.accept, s.decline, s.close, s.transfer, s.abandon,
		s.upsertAgent, s.agentState, s.heartbeat, s.recordEstimate,
		s.recover, s.wrapup, s.presence, s.overflow, s.rematch, s.requeue, s.start}
}
