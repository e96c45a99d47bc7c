package webchat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// decodeClientFrame decodes one client frame as encoding/json would with
// DisallowUnknownFields and nothing after the object, and answers the
// same. Every message a visitor types arrives as a frame, and the decoder's
// reflection was 7% of a gateway's CPU at 2,900 messages/s, so the frames
// the widget sends (exact field names, plain strings, integers, booleans)
// are read here directly. Anything else (an escape, null, a key in other
// case, an unknown field, a malformed or trailing byte) goes to
// encoding/json, which decides as before: this reader accepts only what it
// has read completely, and FuzzDecodeClientFrameAgreesWithEncodingJSON
// holds the two to the same answers.
func decodeClientFrame(data []byte) (clientFrame, error) {
	if f, ok := readPlainFrame(data); ok {
		return f, nil
	}
	return decodeClientFrameJSON(data)
}

// errDataAfterObject refuses a frame with more than one JSON value.
var errDataAfterObject = errors.New("data after the JSON object")

// decodeClientFrameJSON is the general decoder.
func decodeClientFrameJSON(data []byte) (clientFrame, error) {
	var f clientFrame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return clientFrame{}, err
	}
	if dec.More() {
		return clientFrame{}, errDataAfterObject
	}
	return f, nil
}

// frameReader reads a plain frame; ok turns false at the first thing it
// leaves to encoding/json.
type frameReader struct {
	b  []byte
	i  int
	ok bool
}

func readPlainFrame(data []byte) (clientFrame, bool) {
	var f clientFrame
	r := frameReader{b: data, ok: true}
	r.space()
	if !r.eat('{') {
		return f, false
	}
	r.space()
	if r.eat('}') {
		return f, r.end()
	}
	for r.ok {
		key := r.str()
		r.space()
		if !r.eat(':') {
			return f, false
		}
		r.space()
		switch string(key) {
		case "type":
			f.Type = string(r.str())
		case "token":
			f.Token = string(r.str())
		case "conversation":
			f.Conversation = string(r.str())
		case "after":
			f.After = string(r.str())
		case "queue":
			f.Queue = string(r.str())
		case "session":
			f.Session = string(r.str())
		case "name":
			f.Name = string(r.str())
		case "email":
			f.Email = string(r.str())
		case "id":
			f.ID = string(r.str())
		case "text":
			f.Text = string(r.str())
		case "comment":
			f.Comment = string(r.str())
		case "typing":
			f.Typing = r.boolean()
		case "score":
			f.Score = r.integer()
		case "files":
			f.Files = r.strs()
		default:
			return f, false
		}
		r.space()
		if r.eat('}') {
			return f, r.ok && r.end()
		}
		if !r.eat(',') {
			return f, false
		}
		r.space()
	}
	return f, false
}

// end reports whether only whitespace follows.
func (r *frameReader) end() bool {
	r.space()
	return r.ok && r.i == len(r.b)
}

func (r *frameReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *frameReader) eat(c byte) bool {
	if r.ok && r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// str reads a string with no escape, no control character and valid UTF-8.
func (r *frameReader) str() []byte {
	if !r.eat('"') {
		r.ok = false
		return nil
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !utf8.Valid(s) {
				r.ok = false
			}
			return s
		case c == '\\' || c < 0x20:
			r.ok = false
			return nil
		}
		r.i++
	}
	r.ok = false
	return nil
}

func (r *frameReader) boolean() bool {
	switch {
	case bytes.HasPrefix(r.b[r.i:], []byte("true")):
		r.i += 4
		return true
	case bytes.HasPrefix(r.b[r.i:], []byte("false")):
		r.i += 5
		return false
	}
	r.ok = false
	return false
}

// integer reads -?(0|[1-9][0-9]*) that fits an int; a fraction or an
// exponent is left to encoding/json, which refuses them for an int.
func (r *frameReader) integer() int {
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	digits := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	if r.i == digits || (r.b[digits] == '0' && r.i-digits > 1) {
		r.ok = false
		return 0
	}
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case '.', 'e', 'E':
			r.ok = false
			return 0
		}
	}
	n, err := strconv.Atoi(string(r.b[start:r.i]))
	if err != nil {
		r.ok = false
	}
	return n
}

// strs reads an array of plain strings; [] is an empty, non-nil slice, as
// encoding/json makes it.
func (r *frameReader) strs() []string {
	if !r.eat('[') {
		r.ok = false
		return nil
	}
	out := []string{}
	r.space()
	if r.eat(']') {
		return out
	}
	for r.ok {
		out = append(out, string(r.str()))
		r.space()
		if r.eat(']') {
			return out
		}
		if !r.eat(',') {
			r.ok = false
			return nil
		}
		r.space()
	}
	return nil
}
