package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
)

// Small but genuine files: the allow-list checks the first bytes.
var (
	pngFile = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 200)...)
	pdfFile = []byte("%PDF-1.4\n% receipt\n")
)

// chatVisitor is one widget on the chat socket.
type chatVisitor struct {
	*consoleClient
	token, conv string
}

func newVisitor(t *testing.T, base, text string) *chatVisitor {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/chat/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	v := &chatVisitor{consoleClient: &consoleClient{t: t, ws: ws}}
	if err := ws.WriteJSON(map[string]any{"type": "hello", "name": "Maria"}); err != nil {
		t.Fatal(err)
	}
	v.token = v.next("welcome", ofType("welcome"))["visitor_token"].(string)
	v.write(map[string]any{"type": "message", "id": "frame-" + text[:4] + "0001", "text": text})
	v.conv = v.next("echo", ofType("message"))["conversation"].(string)
	return v
}

func (v *chatVisitor) write(f map[string]any) {
	v.t.Helper()
	if err := v.ws.WriteJSON(f); err != nil {
		v.t.Fatal(err)
	}
}

type uploadReply struct {
	Code        int
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	ErrCode     string `json:"code"`
	Error       string `json:"error"`
}

// uploadForm posts the widget's form: fields in order, then the file.
func uploadForm(t *testing.T, base string, fields [][2]string, name string, data []byte) uploadReply {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	if name != "" {
		w, _ := mw.CreateFormFile("file", name)
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/chat/files", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return doUpload(t, req)
}

func doUpload(t *testing.T, req *http.Request) uploadReply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r uploadReply
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("upload answer %d %q: %v", resp.StatusCode, b, err)
	}
	r.Code = resp.StatusCode
	return r
}

func upload(t *testing.T, base string, v *chatVisitor, conv, name string, data []byte) uploadReply {
	t.Helper()
	return uploadForm(t, base, [][2]string{{"token", v.token}, {"conversation", conv}}, name, data)
}

// storedFiles counts the attachment files under the data directory.
func storedFiles(t *testing.T, dir string) int {
	t.Helper()
	key := regexp.MustCompile(`\d{4}/\d{2}/[a-z2-7]{26}-[^/]+$`)
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && key.MatchString(filepath.ToSlash(p)) {
			n++
		}
		return nil
	})
	return n
}

func fetch(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestChatVisitorAttachesFiles follows a visitor's files through the whole
// gateway on a real Redis: the upload is authorised by the visitor's own
// token and only for their own open chat, refused with a clear code when
// too large, of the wrong type or badly formed (and then nothing is kept);
// a message frame adds it to the transcript, where the agent sees it; the
// agent's file reaches the visitor as a link only their conversation's
// frames carry, served as a download (images inline), never sniffed.
func TestChatVisitorAttachesFiles(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	dataDir := t.TempDir()
	base := start(t, map[string]string{"REDIS_URL": srv.URL(), "SWITCHBOARD_DATA_DIR": dataDir})
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(context.Background(), auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	anaCookies := login(t, base, "ana", "ana-password-1")
	ana := dialConsole(t, base, anaCookies)
	ana.ack(ana.send("state", map[string]any{"state": "available"}))

	maria := newVisitor(t, base, "Here is a photo of the damage")
	offer := ana.next("offer", ofType("offer"))["offer"].(map[string]any)
	if offer["conv"] != maria.conv {
		t.Fatalf("offer %v, want %s", offer, maria.conv)
	}
	ana.ack(ana.send("accept", map[string]any{"conv": maria.conv}))
	ana.next("assigned", ofType("assigned"))
	other := newVisitor(t, base, "Another visitor's chat")

	// Refused uploads: each says why, and none keeps a byte.
	big := bytes.Repeat([]byte{0}, 10<<20+1)
	copy(big, pdfFile)
	for _, tc := range []struct {
		desc    string
		reply   uploadReply
		code    int
		errCode string
	}{
		{"no token", uploadForm(t, base, [][2]string{{"conversation", maria.conv}}, "a.png", pngFile), 400, "bad_request"},
		{"forged token", uploadForm(t, base, [][2]string{{"token", maria.token + "x"}, {"conversation", maria.conv}}, "a.png", pngFile), 401, "unauthorized"},
		{"another visitor's chat", upload(t, base, other, maria.conv, "a.png", pngFile), 404, "no_chat"},
		{"unknown chat", upload(t, base, maria, "cv_nosuchchat", "a.png", pngFile), 404, "no_chat"},
		{"fields out of order", uploadForm(t, base, [][2]string{{"conversation", maria.conv}, {"token", maria.token}}, "a.png", pngFile), 400, "bad_request"},
		{"no file", upload(t, base, maria, maria.conv, "", nil), 400, "bad_request"},
		{"wrong type", upload(t, base, maria, maria.conv, "page.html", []byte("<script>alert(1)</script>")), 415, "unsupported_type"},
		{"not what its name says", upload(t, base, maria, maria.conv, "invoice.pdf", []byte("MZ\x90\x00 an executable")), 415, "unsupported_type"},
		{"over the limit", upload(t, base, maria, maria.conv, "big.pdf", big), 413, "too_large"},
	} {
		if tc.reply.Code != tc.code || tc.reply.ErrCode != tc.errCode || tc.reply.Error == "" {
			t.Errorf("%s: %d %q %q, want %d %q with a reason", tc.desc, tc.reply.Code, tc.reply.ErrCode, tc.reply.Error, tc.code, tc.errCode)
		}
	}
	// Over the limit without a Content-Length: cut off while streaming.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField("token", maria.token)
		_ = mw.WriteField("conversation", maria.conv)
		w, _ := mw.CreateFormFile("file", "stream.pdf")
		_, _ = w.Write(big)
		_, _ = w.Write(big[:64<<10])
		_ = mw.Close()
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, base+"/chat/files", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r := doUpload(t, req); r.Code != 413 || r.ErrCode != "too_large" {
		t.Errorf("streamed oversize: %d %q", r.Code, r.ErrCode)
	}
	if n := storedFiles(t, dataDir); n != 0 {
		t.Fatalf("%d files kept from refused uploads", n)
	}

	// Two good ones, with a name that needs sanitising.
	img := upload(t, base, maria, maria.conv, `..\..\dam age<1>.PNG`, pngFile)
	pdf := upload(t, base, maria, maria.conv, "receipt.pdf", pdfFile)
	if img.Code != 201 || pdf.Code != 201 || img.Name != "dam_age_1_.PNG" || img.ContentType != "image/png" ||
		pdf.ContentType != "application/pdf" || img.Size != int64(len(pngFile)) {
		t.Fatalf("uploads: %+v %+v", img, pdf)
	}

	// Another visitor cannot attach Maria's upload, nor a made-up one.
	other.write(map[string]any{"type": "message", "id": "frame-steal0001", "files": []string{img.ID}})
	if e := other.next("error", ofType("error")); e["code"] != "rejected" || e["frame_id"] != "frame-steal0001" {
		t.Fatalf("stolen upload id: %v", e)
	}
	maria.write(map[string]any{"type": "message", "id": "frame-bad00001", "files": []string{"not an id"}})
	if e := maria.next("error", ofType("error")); e["code"] != "bad_frame" {
		t.Fatalf("garbage upload id: %v", e)
	}

	maria.write(map[string]any{"type": "message", "id": "frame-files0001", "text": "Photo and receipt", "files": []string{img.ID, pdf.ID}})
	echo := maria.next("echo with files", func(f map[string]any) bool { return f["type"] == "message" && f["frame_id"] == "frame-files0001" })
	files, _ := echo["files"].([]any)
	if len(files) != 2 {
		t.Fatalf("echo %v", echo)
	}
	imgLink := files[0].(map[string]any)
	pdfLink := files[1].(map[string]any)
	if imgLink["image"] != true || imgLink["name"] != "dam_age_1_.PNG" || imgLink["size"] != float64(len(pngFile)) ||
		pdfLink["image"] != nil || !strings.HasPrefix(pdfLink["url"].(string), "/chat/files?") {
		t.Fatalf("files in the echo: %v", files)
	}

	// The agent sees both, as the console shows SMS and email files.
	m := ana.next("customer message", func(f map[string]any) bool {
		msg, ok := f["message"].(map[string]any)
		return f["type"] == "message" && ok && msg["text"] == "Photo and receipt"
	})["message"].(map[string]any)
	atts, _ := m["attachments"].([]any)
	if len(atts) != 2 || atts[0].(map[string]any)["content_type"] != "image/png" || atts[1].(map[string]any)["name"] != "receipt.pdf" {
		t.Fatalf("console message %v", m)
	}

	// The visitor's links: the image inline, the PDF as a download, neither sniffed.
	resp, body := fetch(t, base+imgLink["url"].(string))
	if resp.StatusCode != 200 || !bytes.Equal(body, pngFile) || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") {
		t.Fatalf("image link: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = fetch(t, base+pdfLink["url"].(string))
	if resp.StatusCode != 200 || !bytes.Equal(body, pdfFile) || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=receipt.pdf` || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("pdf link: %d %v", resp.StatusCode, resp.Header)
	}
	// A link moved to another conversation, or with its signature
	// changed, opens nothing.
	q, _ := url.ParseQuery(strings.TrimPrefix(pdfLink["url"].(string), "/chat/files?"))
	for _, change := range []func(url.Values){
		func(q url.Values) { q.Set("c", other.conv) },
		func(q url.Values) { q.Set("s", strings.Repeat("A", 43)) },
		func(q url.Values) { q.Set("k", "../../etc/passwd") },
	} {
		bad := url.Values{}
		for k, v := range q {
			bad[k] = append([]string(nil), v...)
		}
		change(bad)
		if resp, _ := fetch(t, base+"/chat/files?"+bad.Encode()); resp.StatusCode != 404 {
			t.Errorf("tampered link %v: %d, want 404", bad, resp.StatusCode)
		}
	}

	// The agent answers with a file; the visitor gets a link to it.
	csrf := csrfToken(t, base, anaCookies)
	var buf bytes.Buffer
	amw := multipart.NewWriter(&buf)
	w, _ := amw.CreateFormFile("file", "label.pdf")
	_, _ = w.Write(pdfFile)
	_ = amw.Close()
	req, _ = http.NewRequest(http.MethodPost, base+"/api/v1/conversations/"+maria.conv+"/attachments", &buf)
	req.Header.Set("Content-Type", amw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", csrf)
	for _, ck := range anaCookies {
		req.AddCookie(ck)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&stored)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("agent upload: %d %v", resp.StatusCode, stored)
	}
	reply, _ := json.Marshal(map[string]any{"text": "Your return label", "attachments": []any{stored}})
	if code := postJSON(t, base+"/api/v1/conversations/"+maria.conv+"/messages", anaCookies, csrf, string(reply)); code != 202 {
		t.Fatalf("reply with a file: %d", code)
	}
	got := maria.next("agent file", func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "Your return label" })
	files, _ = got["files"].([]any)
	if len(files) != 1 {
		t.Fatalf("agent message %v", got)
	}
	if resp, body := fetch(t, base+files[0].(map[string]any)["url"].(string)); resp.StatusCode != 200 || !bytes.Equal(body, pdfFile) {
		t.Fatalf("agent's file: %d %q", resp.StatusCode, body)
	}
	if n := storedFiles(t, dataDir); n != 3 {
		t.Fatalf("%d files stored, want 3", n)
	}

	// Once the chat is over, nothing more is attached to it.
	ana.ack(ana.send("close", map[string]any{"conv": maria.conv, "disposition": "resolved"}))
	maria.next("closed", ofType("closed"))
	if r := upload(t, base, maria, maria.conv, "late.png", pngFile); r.Code != 404 || r.ErrCode != "no_chat" {
		t.Fatalf("upload after close: %d %q", r.Code, r.ErrCode)
	}
}
