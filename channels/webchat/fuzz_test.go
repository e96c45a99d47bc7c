package webchat

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseClientFrame feeds arbitrary bytes to the frame parser: it must
// never panic, must refuse with errBadFrame only, and whatever it accepts
// must survive a round trip through JSON with the same meaning. The seed
// corpus lives in testdata/fuzz/FuzzParseClientFrame.
func FuzzParseClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"hello","queue":"support","session":"s_abc"}`,
		`{"type":"message","id":"f_12345678","text":"hi"}`,
		`{"type":"typing","typing":true}`,
		`{"type":"end"}`,
		`{"type":"rate","conversation":"cv_1","score":4,"comment":"ok"}`,
		`{"type":"message","id":"f_12345678","files":["sig_-x:240:2026/12/0123abcd-photo.png"]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseClientFrame(data)
		if err != nil {
			if !errors.Is(err, errBadFrame) {
				t.Fatalf("error %v does not wrap errBadFrame", err)
			}
			return
		}
		switch fr.Type {
		case frameHello, frameResume, frameMessage, frameTyping, frameEnd, frameRate:
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
		if fr.Type == frameMessage && (!validID(fr.ID, 64) || len(fr.ID) < 8) {
			t.Fatalf("accepted message id %q", fr.ID)
		}
		if fr.Type == frameRate && (fr.Score < 1 || fr.Score > 5 || !validID(fr.Conversation, 128) || len(fr.Comment) > maxCommentBytes) {
			t.Fatalf("accepted rate %+v", fr)
		}
		if len(fr.Files) > MaxFilesPerMessage {
			t.Fatalf("accepted %d files", len(fr.Files))
		}
		for _, id := range fr.Files {
			if !validUploadID(id) || strings.Contains(id, "..") {
				t.Fatalf("accepted upload id %q", id)
			}
		}
		if fr.Session != "" && !validID(fr.Session, 64) {
			t.Fatalf("accepted session %q", fr.Session)
		}
		b, err := json.Marshal(fr)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseClientFrame(b)
		if err != nil {
			if !utf8.Valid(data) {
				return // invalid UTF-8 became U+FFFD; the hub refuses such frames anyway
			}
			t.Fatalf("re-encoded frame %s refused: %v", b, err)
		}
		if !slices.Equal(again.Files, fr.Files) {
			t.Fatalf("round trip changed the files: %q != %q", again.Files, fr.Files)
		}
		again.Files, fr.Files = nil, nil
		if !reflect.DeepEqual(again, fr) {
			t.Fatalf("round trip changed the frame: %+v != %+v", again, fr)
		}
	})
}

// The frame reader answers as encoding/json does: the same frame or an
// error for the same input. It may hand more inputs to encoding/json than
// it needs to, never fewer.
func FuzzDecodeClientFrameAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","id":"f_12345678","text":"hi"}`,
		` { "type" : "typing" , "typing" : false } `,
		`{"type":"rate","conversation":"cv_1","score":-0,"comment":"é"}`,
		`{"type":"message","id":"f_12345678","files":[],"files":["a","b"]}`,
		`{"type":"message","TEXT":"x"}`,
		`{"type":"message","text":"a\"b"}`,
		`{"type":"end","score":1.0}`,
		`{"type":"end","score":01}`,
		`{"type":"end","score":99999999999999999999}`,
		`{"type":"end"}}`,
		`{"type":"end"} {}`,
		`{"type":"end","text":null}`,
		`{"type":"end",}`,
		`{}`,
		"{\"text\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := decodeClientFrameJSON(data)
		got, err := decodeClientFrame(data)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v; encoding/json says %v", data, err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read %+v; encoding/json reads %+v", data, got, want)
		}
	})
}

// The frames the widget sends are read without encoding/json.
func TestWidgetFramesAreReadDirectly(t *testing.T) {
	for _, frame := range []string{
		`{"type":"hello","queue":"support","session":"s_abc","name":"Ana Lima","email":"ana@example.com"}`,
		`{"type":"resume","token":"t.x-y","conversation":"cv_1","after":"1700000000000-0"}`,
		`{"type":"message","id":"f_12345678","text":"my order 4411 has not arrived 😟"}`,
		`{"type":"message","id":"f_12345678","text":"","files":["sig_-x:240:2026/12/0123abcd-photo.png"]}`,
		`{"type":"typing","typing":true}`,
		`{"type":"end"}`,
		`{"type":"rate","conversation":"cv_1","score":4,"comment":"quick"}`,
	} {
		got, ok := readPlainFrame([]byte(frame))
		want, err := decodeClientFrameJSON([]byte(frame))
		if !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %+v (%v); encoding/json reads %+v (%v)", frame, got, ok, want, err)
		}
	}
}
