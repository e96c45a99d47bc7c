package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/httpserver"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/routing"
)

var server *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &server))
}

type fixture struct {
	h      *Handler
	svc    *conversation.Service
	engine *routing.Engine
	desk   *desk.Desk
	e      *echo.Echo
}

// newFixture serves the API on the real desk, routing and conversation
// service, on the gateway's own HTTP server, so its server-wide middleware
// (body limits, error answers) is part of every test; mod adjusts the
// conversation service. Requests name the caller in X-Agent and its role
// in X-Role (admin when unset), standing in for the session/token
// middleware.
func newFixture(t *testing.T, mod ...func(*conversation.Params)) *fixture {
	t.Helper()
	rdb := server.NewClient(t)
	ws := strings.NewReplacer("/", "_").Replace(t.Name()) + "_" + rand.Text()[:12]
	engine, err := routing.New(routing.Params{Client: rdb, Workspace: ws,
		Queues: []routing.QueueConfig{{Name: "support"}, {Name: "billing"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := conversation.Params{
		Redis: rdb, Workspace: ws, Router: desk.Router{Engine: engine}, DefaultQueue: "support",
		AttachmentDir: t.TempDir(), MaxAttachmentBytes: 1000,
	}
	for _, m := range mod {
		m(&p)
	}
	svc, err := conversation.New(p)
	if err != nil {
		t.Fatal(err)
	}
	authSvc, err := auth.New(auth.Config{Redis: rdb, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	proms, err := promise.New(promise.Params{Redis: rdb, Workspace: ws, Router: desk.PromiseRouter{Engine: engine, Conversations: svc}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := desk.New(desk.Params{Engine: engine, Conversations: svc, Auth: authSvc, Promises: proms})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := httpserver.New(httpserver.Params{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, engine: engine, desk: d, e: srv.Echo}
	// A stand-in for the real auth: requests need X-Agent.
	mw := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("X-Agent") == "" {
				return c.JSON(http.StatusUnauthorized, map[string]string{"error": "login required"})
			}
			return next(c)
		}
	}
	h, err := New(Params{Service: svc, Desk: d, Auth: mw, MaxBodyBytes: 4096,
		Actor: func(c echo.Context) desk.Actor {
			role := auth.Role(c.Request().Header.Get("X-Role"))
			if role == "" {
				role = auth.RoleAdmin
			}
			return desk.Actor{AccountID: c.Request().Header.Get("X-Agent"), Role: role}
		}})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(f.e.Group("/api/v1"))
	f.h = h
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return f.doAs(t, "ana", "", method, path, body, out)
}

// doAs makes a request as account id with role ("" for admin).
func (f *fixture) doAs(t *testing.T, id, role, method, path, body string, out any) int {
	t.Helper()
	req := httptest.NewRequest(method, "/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Agent", id)
	if role != "" {
		req.Header.Set("X-Role", role)
	}
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, rec.Code, rec.Body.String(), err)
		}
	}
	return rec.Code
}

func (f *fixture) receive(t *testing.T, in channel.Inbound) channel.Receipt {
	t.Helper()
	r, err := f.svc.Receive(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+14155550101", To: "+1", Text: "hi", ProviderID: "SM1"})
	big := `{"text":"` + strings.Repeat("x", 5000) + `"}`
	cases := []struct {
		desc   string
		method string
		path   string
		body   string
		status int
		field  string
	}{
		{"unknown conversation", "GET", "/conversations/cv_nope", "", 404, ""},
		{"unknown conversation transcript", "GET", "/conversations/cv_nope/messages", "", 404, ""},
		{"reply to unknown conversation", "POST", "/conversations/cv_nope/messages", `{"text":"x"}`, 404, ""},
		{"unknown customer", "GET", "/customers/cu_nope", "", 404, ""},
		{"unknown customer history", "GET", "/customers/cu_nope/conversations", "", 404, ""},
		{"unknown message", "GET", "/messages/m_nope", "", 404, ""},
		{"unknown attachment", "GET", "/attachments/2026/01/x", "", 404, ""},
		{"escaping attachment path", "GET", "/attachments/../../etc/passwd", "", 404, ""},
		{"reply over body limit", "POST", "/conversations/" + r.ConversationID + "/messages", big, 413, ""},
		{"note over body limit", "POST", "/conversations/" + r.ConversationID + "/notes", big, 413, ""},
		{"invalid phone in lookup", "GET", "/customers?channel=sms&address=555-0101", "", 400, "address"},
		{"invalid channel in lookup", "GET", "/customers?channel=fax&address=x", "", 400, "channel"},
		{"invalid email to link", "POST", "/customers/" + r.CustomerID + "/identities", `{"channel":"email","address":"not-an-email"}`, 400, "address"},
		{"bad cursor", "GET", "/conversations/" + r.ConversationID + "/messages?after=zz", "", 400, "after"},
		{"bad limit", "GET", "/conversations/" + r.ConversationID + "/messages?limit=-1", "", 400, "limit"},
		{"empty reply", "POST", "/conversations/" + r.ConversationID + "/messages", `{"text":""}`, 400, "text"},
		{"unknown field", "PATCH", "/customers/" + r.CustomerID, `{"nmae":"x"}`, 400, ""},
		{"malformed JSON", "POST", "/conversations/" + r.ConversationID + "/notes", `{"text":`, 400, ""},
		{"merge without id", "POST", "/customers/" + r.CustomerID + "/merge", `{}`, 400, "customer_id"},
		{"merge unknown", "POST", "/customers/" + r.CustomerID + "/merge", `{"customer_id":"cu_nope"}`, 404, ""},
		{"transfer nowhere", "POST", "/conversations/" + r.ConversationID + "/transfer", `{}`, 400, "queue"},
		{"note without body", "POST", "/conversations/" + r.ConversationID + "/notes", ``, 400, "text"},
		{"two JSON values", "POST", "/conversations/" + r.ConversationID + "/notes", `{"text":"a"} {}`, 400, ""},
		{"wrong type", "PATCH", "/customers/" + r.CustomerID, `{"tags":"vip"}`, 400, "tags"},
	}
	for _, c := range cases {
		var body struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		got := f.do(t, c.method, c.path, c.body, &body)
		if got != c.status || body.Error == "" || body.Field != c.field {
			t.Errorf("%s: %d %+v, want %d field %q", c.desc, got, body, c.status, c.field)
		}
	}
}

func TestAuthAndAccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+14155550101", To: "+1", Text: "hi", ProviderID: "SM1"})
	req := httptest.NewRequest("GET", "/api/v1/conversations/"+r.ConversationID, nil)
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("without auth: %d", rec.Code)
	}
	if code := f.do(t, "GET", "/conversations/"+r.ConversationID, "", nil); code != 200 {
		t.Fatalf("with auth: %d", code)
	}
	// An agent it was never offered to sees none of it.
	for _, p := range []string{"/conversations/" + r.ConversationID, "/conversations/" + r.ConversationID + "/messages", "/customers/" + r.CustomerID} {
		if code := f.doAs(t, "bo", "agent", "GET", p, "", nil); code != 404 {
			t.Fatalf("hidden %s: %d", p, code)
		}
	}
}

func TestConversationFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	phone := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+14155550101", To: "+1", Name: "Bo", Text: "hi", ProviderID: "SM1"})
	// History is newest first by creation millisecond: the mail gets its
	// own, so the history read below finds it first.
	time.Sleep(2 * time.Millisecond)
	mail := f.receive(t, channel.Inbound{Channel: channel.Email, From: "bo@example.com", To: "help@x.io", Text: "hello", ProviderID: "<1@x>"})
	cid := phone.ConversationID

	var entry conversation.Entry
	if code := f.do(t, "POST", "/conversations/"+cid+"/messages", `{"text":"on it"}`, &entry); code != 202 || entry.Author != "ana" || entry.Status != "pending" {
		t.Fatalf("reply: %d %+v", code, entry)
	}
	var m conversation.Message
	if code := f.do(t, "GET", "/messages/"+entry.MessageID, "", &m); code != 200 || m.Status != "pending" {
		t.Fatalf("message: %d %+v", code, m)
	}
	if code := f.do(t, "POST", "/conversations/"+cid+"/notes", `{"text":"asked for a refund"}`, &entry); code != 201 || entry.Type != conversation.EntryNote {
		t.Fatalf("note: %d %+v", code, entry)
	}
	var page transcriptPage
	if code := f.do(t, "GET", "/conversations/"+cid+"/messages?limit=2", "", &page); code != 200 || len(page.Entries) != 2 {
		t.Fatalf("transcript: %d %+v", code, page)
	}
	var rest transcriptPage
	f.do(t, "GET", "/conversations/"+cid+"/messages?after="+page.Next, "", &rest)
	if len(rest.Entries) == 0 || rest.Entries[len(rest.Entries)-1].Type != conversation.EntryNote {
		t.Fatalf("resume: %+v", rest)
	}
	// A long transcript streams out in batches: pages across batch
	// boundaries are whole, valid JSON, and the cursor walks every entry once.
	for i := 0; i < 130; i++ {
		if code := f.do(t, "POST", "/conversations/"+cid+"/notes", fmt.Sprintf(`{"text":"note %d <&>"}`, i), &entry); code != 201 {
			t.Fatalf("note %d: %d", i, code)
		}
	}
	seen, after := map[string]bool{}, ""
	for _, limit := range []int{75, 500, 500} {
		var p transcriptPage
		if code := f.do(t, "GET", fmt.Sprintf("/conversations/%s/messages?limit=%d&after=%s", cid, limit, after), "", &p); code != 200 {
			t.Fatalf("transcript page: %d", code)
		}
		for _, e := range p.Entries {
			if seen[e.ID] {
				t.Fatalf("entry %s twice", e.ID)
			}
			seen[e.ID] = true
		}
		if limit == 75 && (len(p.Entries) != 75 || p.Next != p.Entries[74].ID) {
			t.Fatalf("page of 75: %d entries, next %q", len(p.Entries), p.Next)
		}
		if len(p.Entries) == 0 && p.Next != after {
			t.Fatalf("empty page moved the cursor to %q", p.Next)
		}
		after = p.Next
	}
	if len(seen) < 133 || !seen[entry.ID] {
		t.Fatalf("%d entries seen, last note %v", len(seen), seen[entry.ID])
	}

	// Upload, attach, download; an oversized upload is refused.
	a := f.upload(t, cid, "report.pdf", pdfOf(600), 201)
	body, _ := json.Marshal(map[string]any{"text": "see attached", "attachments": []channel.Attachment{a}})
	if code := f.do(t, "POST", "/conversations/"+cid+"/messages", string(body), &entry); code != 202 || len(entry.Attachments) != 1 || entry.Attachments[0].Size != 600 {
		t.Fatalf("reply with attachment: %d %+v", code, entry)
	}
	req := httptest.NewRequest("GET", "/api/v1/attachments/"+a.StoredPath, nil)
	req.Header.Set("X-Agent", "ana")
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 600 || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %d %v", rec.Code, rec.Body.Len(), rec.Header())
	}
	f.upload(t, cid, "big.pdf", pdfOf(1001), 413)
	if rec.Header().Get("Content-Disposition") != "attachment; filename=report.pdf" || rec.Header().Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("a PDF downloads, never renders: %v", rec.Header())
	}
	// Only the allow-list's types, and only files whose bytes fit the name.
	f.upload(t, cid, "page.html", []byte("<script>alert(1)</script>"), 415)
	f.upload(t, cid, "report2.pdf", bytes.Repeat([]byte("x"), 600), 415)
	f.upload(t, cid, "tool.exe", []byte("MZ"), 415)

	// Customer: update, merge the email identity in, history across channels.
	var cu conversation.Customer
	if code := f.do(t, "PATCH", "/customers/"+phone.CustomerID, `{"tags":["VIP"],"notes":"likes email"}`, &cu); code != 200 || cu.Tags[0] != "vip" || cu.Notes != "likes email" {
		t.Fatalf("patch: %d %+v", code, cu)
	}
	if code := f.do(t, "POST", "/customers/"+phone.CustomerID+"/merge", `{"customer_id":"`+mail.CustomerID+`"}`, &cu); code != 200 || len(cu.Identities) != 2 {
		t.Fatalf("merge: %d %+v", code, cu)
	}
	if code := f.do(t, "GET", "/customers?channel=email&address=BO@example.com", "", &cu); code != 200 || cu.ID != phone.CustomerID {
		t.Fatalf("lookup: %d %+v", code, cu)
	}
	var hist conversation.HistoryPage
	if code := f.do(t, "GET", "/customers/"+mail.CustomerID+"/conversations?limit=1", "", &hist); code != 200 || hist.Total != 2 || len(hist.Conversations) != 1 || hist.Conversations[0].ID != mail.ConversationID || hist.Next != 1 {
		t.Fatalf("history: %d %+v", code, hist)
	}

	var conv conversation.Conversation
	if code := f.do(t, "POST", "/conversations/"+cid+"/transfer", `{"queue":"billing"}`, &conv); code != 200 || conv.Queue != "billing" {
		t.Fatalf("transfer: %d %+v", code, conv)
	}
	if code := f.do(t, "POST", "/conversations/"+cid+"/close", `{"disposition":"resolved"}`, &conv); code != 200 || conv.State != conversation.StateClosed || conv.Disposition != "resolved" {
		t.Fatalf("close: %d %+v", code, conv)
	}
	if code := f.do(t, "POST", "/conversations/"+cid+"/messages", `{"text":"late"}`, nil); code != 409 {
		t.Fatalf("reply after close: %d", code)
	}
}

// pdfOf is a file of n bytes that passes for a PDF.
func pdfOf(n int) []byte {
	b := bytes.Repeat([]byte("x"), n)
	copy(b, "%PDF-1.4\n")
	return b
}

func (f *fixture) upload(t *testing.T, convID, name string, data []byte, want int) channel.Attachment {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", name)
	_, _ = w.Write(data)
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/conversations/"+convID+"/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Agent", "ana")
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	if rec.Code != want {
		b, _ := io.ReadAll(rec.Body)
		t.Fatalf("upload %s: %d %s, want %d", name, rec.Code, b, want)
	}
	var a channel.Attachment
	_ = json.Unmarshal(rec.Body.Bytes(), &a)
	return a
}

// Issue 11 item 4: the documented 10 MiB attachment limit holds behind the
// server's 1 MiB default body cap; past it the upload is refused with 413.
func TestUploadLimitIsTheAttachmentLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(p *conversation.Params) { p.MaxAttachmentBytes = 0 }) // the default, 10 MiB
	cid := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+14155550199", To: "+1", Text: "photo?", ProviderID: "SM-up"}).ConversationID
	a := f.upload(t, cid, "photo.jpg", append([]byte("\xff\xd8\xff"), bytes.Repeat([]byte("p"), 3<<20-3)...), 201)
	if a.Size != 3<<20 {
		t.Fatalf("stored %d bytes, want %d", a.Size, 3<<20)
	}
	f.upload(t, cid, "exactly.pdf", pdfOf(10<<20), 201)
	f.upload(t, cid, "huge.pdf", pdfOf(10<<20+1), 413)
	f.upload(t, cid, "framing-too.pdf", pdfOf(11<<20), 413)
}

// Issue 11 item 8: a value of the wrong type is named, field and types,
// and a body that is not an object says so instead of naming an empty
// field.
func TestWrongTypeNamesTheField(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cid := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+14155550102", To: "+1", Text: "hi", ProviderID: "SM-type"}).ConversationID
	cases := []struct{ body, field, msg string }{
		{`{"text": ["a", "b"]}`, "text", "wrong type for field text: want string, got array"},
		{`{"text": {"a": 1}}`, "text", "wrong type for field text: want string, got object"},
		{`{"text": "ok", "attachments": [{"size": "x"}]}`, "attachments.size", "wrong type for field attachments.size: want number, got string"},
		{`["text"]`, "", "body must be a JSON object, not array"},
		{`"text"`, "", "body must be a JSON object, not string"},
	}
	for _, tc := range cases {
		var out errorBody
		if code := f.do(t, "POST", "/conversations/"+cid+"/messages", tc.body, &out); code != 400 || out.Field != tc.field || out.Error != tc.msg {
			t.Errorf("%s: %d %+v, want field %q error %q", tc.body, code, out, tc.field, tc.msg)
		}
	}
}

// MaySee answers for routes served beside the API as the API itself does:
// 401 without a sign-in, 404 for what the caller may not see.
func TestMaySeeGuardsRoutesBesideTheAPI(t *testing.T) {
	f := newFixture(t)
	r := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+15550001111", To: "+15550009999", Text: "hello"})
	f.e.GET("/guarded/:id", func(c echo.Context) error {
		if err := f.h.MaySee(c, c.Param("id")); err != nil {
			return err
		}
		return c.String(http.StatusOK, "seen")
	})
	for _, tc := range []struct {
		who, role, conv string
		want            int
	}{
		{"", "", r.ConversationID, http.StatusUnauthorized},
		{"sam", string(auth.RoleSupervisor), r.ConversationID, http.StatusOK},
		{"ben", string(auth.RoleAgent), r.ConversationID, http.StatusNotFound},
		{"sam", string(auth.RoleSupervisor), "no-such-conversation", http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, "/guarded/"+tc.conv, nil)
		if tc.who != "" {
			req.Header.Set("X-Agent", tc.who)
			req.Header.Set("X-Role", tc.role)
		}
		rec := httptest.NewRecorder()
		f.e.ServeHTTP(rec, req)
		if rec.Code != tc.want || (tc.want == http.StatusOK) != (rec.Body.String() == "seen") {
			t.Errorf("%s (%s) on %s: %d %q, want %d", tc.who, tc.role, tc.conv, rec.Code, rec.Body.String(), tc.want)
		}
	}
}
