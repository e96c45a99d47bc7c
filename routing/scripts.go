package routing

import (
	"embed"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// scripts holds one Redis script per operation. Each is the key segments
// (keys.go), the part of lua/lib.lua it uses and the operation's file, so
// it runs on its own.
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
		return redis.NewScript(luaKeySegments + luaChannels() + libFor(string(lib), string(body)) + "\n" + string(body))
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

// libFor is lib without the functions body does not use, directly or
// through other functions of lib; everything else of lib is kept, in its
// order. Redis runs a script's whole text on every call, so each of lib's
// forty-odd local functions is a closure made and collected again on every
// call: about 20 µs of Redis time per call for the whole library, before the
// script does anything (docs/benchmarks.md). A function starts with "local
// function name(" at the start of a line and ends on that line or at the
// next line that is "end" at the start of a line (a comment after either
// is allowed).
func libFor(lib, body string) string {
	type chunk struct {
		name, text string // name is "" for what is not a function
		code       string // text without its comments, which name nothing
	}
	var chunks []chunk
	lines := strings.SplitAfter(lib, "\n")
	for i := 0; i < len(lines); i++ {
		m := luaFuncStart.FindStringSubmatch(lines[i])
		if m == nil {
			chunks = append(chunks, chunk{text: lines[i], code: luaComment.ReplaceAllString(lines[i], "")})
			continue
		}
		text := lines[i]
		if !luaOneLiner.MatchString(luaComment.ReplaceAllString(lines[i], "")) {
			for {
				if i+1 == len(lines) {
					panic("routing: lib.lua: function " + m[1] + " never reaches an \"end\" of its own line")
				}
				i++
				text += lines[i]
				if strings.HasPrefix(lines[i], "end") && strings.TrimSpace(luaComment.ReplaceAllString(lines[i], "")) == "end" {
					break
				}
			}
		}
		chunks = append(chunks, chunk{name: m[1], text: text, code: luaComment.ReplaceAllString(text, "")})
	}
	// Keep what body and the kept code name, until nothing new is named.
	used := map[string]bool{}
	var mark func(code string)
	mark = func(code string) {
		for _, c := range chunks {
			if c.name != "" && !used[c.name] && names(code, c.name) {
				used[c.name] = true
				mark(c.code)
			}
		}
	}
	mark(luaComment.ReplaceAllString(body, ""))
	for _, c := range chunks {
		if c.name == "" {
			mark(c.code)
		}
	}
	var out strings.Builder
	for _, c := range chunks {
		if c.name == "" || used[c.name] {
			out.WriteString(c.text)
		}
	}
	return out.String()
}

var (
	luaFuncStart = regexp.MustCompile(`^local function ([A-Za-z_][A-Za-z0-9_]*)\(`)
	luaOneLiner  = regexp.MustCompile(`\bend\s*$`)
	// luaComment is a comment to the end of its line; lib.lua writes no
	// "--" inside a string.
	luaComment = regexp.MustCompile(`--[^\n]*`)
)

// names reports whether code mentions the identifier name.
func names(code, name string) bool {
	for i := 0; ; {
		j := strings.Index(code[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !luaIdentByte(code[j-1])) && (end == len(code) || !luaIdentByte(code[end])) {
			return true
		}
		i = j + 1
	}
}

func luaIdentByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
