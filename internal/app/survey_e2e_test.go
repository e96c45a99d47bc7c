package app

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// surveyConfig asks at once, at any hour, and gives each agent one SMS
// and one chat at a time, so the order of offers is plain to see.
const surveyConfig = `surveys:
  delay_seconds: {sms: 0, chat: 0, email: 0}
  send_hours:
    open:
      - {days: mon-sun, from: "00:00", to: "24:00"}
agents:
  - {id: ana, name: Ana Lima, capacity: {sms: 1, chat: 1}}
  - {id: ben, name: Ben Okafor, capacity: {sms: 1, chat: 1}}
`

const surveySMS = "Thanks for talking to Ana today. How did we do? Reply 1–5 (5 = great)."

// TestSMSSurveyRatingAndRecovery follows the thank-you and its one
// question by SMS through the whole gateway: sent once after a resolved
// close however often the close is repeated; a bare "1" is a rating that
// opens no conversation (also when Twilio retries it), raises a live
// alert on the supervisor socket and tags the customer; their next text
// is offered to their last agent ahead of a customer who wrote earlier.
// A rating with words also reaches a person; an opted-out number gets no
// question; the figures count all of it.
func TestSMSSurveyRatingAndRecovery(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	file := filepath.Join(t.TempDir(), "sb.yaml")
	if err := os.WriteFile(file, []byte(surveyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL, "SWITCHBOARD_CONFIG": file,
		"TWILIO_ACCOUNT_SID": creds.AccountSID, "TWILIO_AUTH_TOKEN": creds.AuthToken, "TWILIO_API_BASE_URL": fake.URL,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	ctx := context.Background()
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []auth.Account{{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, {ID: "ben", Name: "Ben Okafor", Role: auth.RoleAgent}} {
		if err := authSvc.CreateAccount(ctx, a, a.ID+"-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	ana := dialConsole(t, base, login(t, base, "ana", "ana-password-1"))
	ben := dialConsole(t, base, login(t, base, "ben", "ben-password-1"))
	adminCookies := login(t, base, "admin", "admin-password-1")
	sup := dialSupervisor(t, base, adminCookies)

	const ours = "+15550001111"
	text := func(from, body, sid string) {
		t.Helper()
		form := twiliotest.InboundSMS(creds.AccountSID, from, ours, body)
		if sid != "" {
			form.Set("MessageSid", sid)
			form.Set("SmsSid", sid)
		}
		sig := twilioapi.Sign(creds.AuthToken, publicURL+"/twilio/sms", form)
		req, _ := http.NewRequest(http.MethodPost, base+"/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook from %s: %d", from, resp.StatusCode)
		}
	}
	surveysTo := func(to string) []twiliotest.Message {
		var out []twiliotest.Message
		for _, m := range fake.Messages() {
			if m.To == to && strings.Contains(m.Body, "How did we do?") {
				out = append(out, m)
			}
		}
		return out
	}
	waitSurvey := func(to string) twiliotest.Message {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got := surveysTo(to); len(got) > 0 {
				return got[0]
			}
		}
		t.Fatalf("no survey reached %s; messages: %+v", to, fake.Messages())
		return twiliotest.Message{}
	}
	// serve has Ana take the customer's text and close it as resolved.
	serve := func(from, body string) (conv, customer string) {
		t.Helper()
		ana.ack(ana.send("state", map[string]any{"state": "available"}))
		text(from, body, "")
		offer := ana.next("offer", ofType("offer"))["offer"].(map[string]any)
		conv = offer["conv"].(string)
		ana.ack(ana.send("accept", map[string]any{"conv": conv}))
		ana.next("assigned", ofType("assigned"))
		ana.ack(ana.send("close", map[string]any{"conv": conv, "disposition": "resolved"}))
		return conv, offer["customer"].(map[string]any)["id"].(string)
	}
	ben.ack(ben.send("state", map[string]any{"state": "away"}))

	// Maria is served and closed as resolved; the close is repeated (a
	// console retrying) and still one question goes out, from our number.
	const maria = "+46701234567"
	mariaConv, mariaID := serve(maria, "Mitt paket kom aldrig fram")
	for i := 0; i < 3; i++ {
		ana.ack(ana.send("close", map[string]any{"conv": mariaConv, "disposition": "resolved"}))
	}
	got := waitSurvey(maria)
	if got.Body != surveySMS || got.From != ours {
		t.Fatalf("survey SMS %+v, want %q from %s", got, surveySMS, ours)
	}

	// "1" is the rating: no conversation opens, even when Twilio retries it.
	ana.ack(ana.send("state", map[string]any{"state": "away"}))
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); text(maria, "1", "SM11111111111111111111111111111111") }()
	}
	wg.Wait()
	alert := sup.next("recovery alert", func(f map[string]any) bool {
		a, _ := f["alert"].(map[string]any)
		return f["type"] == "alert" && a["kind"] == "recovery"
	})["alert"].(map[string]any)
	if alert["customer_id"] != mariaID || alert["score"] != float64(1) || alert["agent"] != "ana" || alert["conv"] != mariaConv {
		t.Fatalf("recovery alert %v", alert)
	}
	if res := restGet(t, base+"/api/v1/customers/"+mariaID, adminCookies); !strings.Contains(res, `"recovery"`) {
		t.Fatalf("maria not tagged recovery: %s", res)
	}
	if n := len(surveysTo(maria)); n != 1 {
		t.Fatalf("%d surveys sent to maria, want 1", n)
	}

	// Bob writes first, then Maria writes again. Ana comes back: she is
	// offered Maria (her last agent, boosted), not Bob who waited longer,
	// and the offer carries the banner; Ben then gets Bob.
	const bob = "+46709999999"
	text(bob, "Hello, is anyone there?", "")
	time.Sleep(50 * time.Millisecond)
	text(maria, "Det var inte bra senast", "")
	ana.ack(ana.send("state", map[string]any{"state": "available"}))
	offer := ana.next("offer", ofType("offer"))["offer"].(map[string]any)
	if offer["customer"].(map[string]any)["id"] != mariaID {
		t.Fatalf("ana was offered %v first, want maria (recovery) ahead of bob", offer["customer"])
	}
	banner, _ := offer["recovery"].(map[string]any)
	if banner == nil || !strings.HasPrefix(banner["text"].(string), "rated 1/5 on ") || banner["conv"] != mariaConv {
		t.Fatalf("offer without the recovery banner: %v", offer)
	}
	ben.ack(ben.send("state", map[string]any{"state": "available"}))
	bo := ben.next("offer", ofType("offer"))["offer"].(map[string]any)
	if bo["preview"] != "Hello, is anyone there?" {
		t.Fatalf("ben's offer %v, want bob's", bo)
	}
	// Bob was spam: closed so, he gets no question.
	ben.ack(ben.send("accept", map[string]any{"conv": bo["conv"]}))
	ben.ack(ben.send("close", map[string]any{"conv": bo["conv"], "disposition": "spam"}))
	// The agent records what was done; the case keeps it.
	next := offer["conv"].(string)
	ana.ack(ana.send("accept", map[string]any{"conv": next}))
	ana.ack(ana.send("recovery_note", map[string]any{"conv": next, "text": "Refunded the shipping"}))
	ana.ack(ana.send("close", map[string]any{"conv": next, "disposition": "resolved"}))
	ben.ack(ben.send("state", map[string]any{"state": "away"}))

	// Joe answers with words: rated 2, and the words reach a person.
	const joe = "+46702222222"
	serve(joe, "Where is my refund?")
	waitSurvey(joe)
	ana.ack(ana.send("state", map[string]any{"state": "available"}))
	text(joe, "2 the agent was rude", "")
	jo := ana.next("joe's new conversation", ofType("offer"))["offer"].(map[string]any)
	if jo["preview"] != "2 the agent was rude" {
		t.Fatalf("joe's text did not reach a person: %v", jo)
	}
	sup.next("joe's alert", func(f map[string]any) bool {
		a, _ := f["alert"].(map[string]any)
		return f["type"] == "alert" && a["score"] == float64(2) && a["comment"] == "the agent was rude"
	})
	ana.ack(ana.send("decline", map[string]any{"conv": jo["conv"]}))

	// Olga texted STOP before the close: she gets no question.
	const olga = "+46703333333"
	ana.ack(ana.send("state", map[string]any{"state": "away"}))
	olgaConv, _ := func() (string, string) {
		ana.ack(ana.send("state", map[string]any{"state": "available"}))
		text(olga, "Cancel my order please", "")
		o := ana.next("olga's offer", func(f map[string]any) bool {
			o, _ := f["offer"].(map[string]any)
			return f["type"] == "offer" && o["preview"] == "Cancel my order please"
		})["offer"].(map[string]any)
		ana.ack(ana.send("accept", map[string]any{"conv": o["conv"]}))
		return o["conv"].(string), ""
	}()
	text(olga, "STOP", "")
	ana.ack(ana.send("close", map[string]any{"conv": olgaConv, "disposition": "resolved"}))
	// Give the sender a few polls, then look: nothing asked Olga.
	time.Sleep(2500 * time.Millisecond)
	if got := surveysTo(olga); len(got) != 0 {
		t.Fatalf("opted-out number got a survey: %+v", got)
	}
	if got := surveysTo(bob); len(got) != 0 {
		t.Fatalf("a conversation closed as spam got a survey: %+v", got)
	}

	// The figures: today, overall and per agent, JSON and CSV.
	res := restGet(t, base+"/api/v1/stats?report=csat&format=csv", adminCookies)
	rows, err := csv.NewReader(strings.NewReader(res)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csat csv %q: %v", res, err)
	}
	if strings.Join(rows[0], ",") != "dimension,key,sent,responses,good,score_1,score_2,score_3,score_4,score_5,csat,response_rate" {
		t.Fatalf("csv header %v", rows[0])
	}
	// Sent: maria, maria again, joe (olga refused) = 3; rated: maria 1, joe 2.
	if got := strings.Join(rows[1], ","); got != "all,,3,2,0,1,1,0,0,0,0.0000,0.6667" {
		t.Fatalf("overall row %q", got)
	}
	if !strings.Contains(res, "agent,ana,3,2,0,") || !strings.Contains(res, "channel,sms,3,2,0,") {
		t.Fatalf("per agent and channel rows missing: %s", res)
	}
	if m := restGet(t, base+"/metrics", nil); !strings.Contains(m, `switchboard_survey_ratings_total{agent="ana",channel="sms",queue="support",score="1"} 1`) {
		t.Fatalf("ratings series missing from /metrics")
	}
}

// restGet GETs url with cookies and returns the body; it fails on a non-200.
func restGet(t *testing.T, u string, cookies []*http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func dialSupervisor(t *testing.T, base string, cookies []*http.Cookie) *consoleClient {
	t.Helper()
	hdr := http.Header{"Origin": {base}}
	for _, ck := range cookies {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/supervisor/ws", hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &consoleClient{t: t, ws: ws}
	c.next("hello", ofType("hello"))
	return c
}

// TestChatSurveyOverTheWidgetSocket: after a resolved chat the visitor's
// widget socket gets the question, a rate frame records the answer once
// (a second tab's is thanked but changes nothing), and a rate for a chat
// that is not the socket's is refused.
func TestChatSurveyOverTheWidgetSocket(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	file := filepath.Join(t.TempDir(), "sb.yaml")
	if err := os.WriteFile(file, []byte(surveyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, map[string]string{"REDIS_URL": srv.URL(), "SWITCHBOARD_CONFIG": file, "SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1"})
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(context.Background(), auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	ana := dialConsole(t, base, login(t, base, "ana", "ana-password-1"))
	ana.ack(ana.send("state", map[string]any{"state": "available"}))

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/chat/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	visitor := &consoleClient{t: t, ws: ws}
	if err := ws.WriteJSON(map[string]any{"type": "hello", "name": "Maria"}); err != nil {
		t.Fatal(err)
	}
	token := visitor.next("welcome", ofType("welcome"))["visitor_token"].(string)
	if err := ws.WriteJSON(map[string]any{"type": "message", "id": "frame-0001", "text": "My parcel never arrived"}); err != nil {
		t.Fatal(err)
	}
	offer := ana.next("offer", ofType("offer"))["offer"].(map[string]any)
	conv := offer["conv"].(string)
	ana.ack(ana.send("accept", map[string]any{"conv": conv}))
	ana.ack(ana.send("close", map[string]any{"conv": conv, "disposition": "resolved"}))

	q := visitor.next("survey", ofType("survey"))
	if q["conversation"] != conv || q["text"] != "Thanks for chatting with Ana. How did we do?" || q["scale"] != float64(5) {
		t.Fatalf("survey frame %v", q)
	}
	// The visitor reloads the page: the widget that was in the chat comes
	// back to it, learns it closed, and is asked again.
	again := resumeWidget(t, base, token, conv)
	again.next("closed", ofType("closed"))
	if q2 := again.next("survey again", ofType("survey")); q2["text"] != q["text"] || q2["conversation"] != conv {
		t.Fatalf("survey after a reload %v", q2)
	}
	// A rate for another conversation is refused; nothing is recorded.
	if err := ws.WriteJSON(map[string]any{"type": "rate", "conversation": "cv_someone_else", "score": 1}); err != nil {
		t.Fatal(err)
	}
	if e := visitor.next("error", ofType("error")); e["code"] != "no_chat" {
		t.Fatalf("rate of another chat: %v", e)
	}
	for _, score := range []int{5, 2} {
		if err := ws.WriteJSON(map[string]any{"type": "rate", "conversation": conv, "score": score, "comment": "quick and kind"}); err != nil {
			t.Fatal(err)
		}
		if r := visitor.next("rated", ofType("rated")); r["conversation"] != conv || r["score"] != float64(score) {
			t.Fatalf("rated frame %v", r)
		}
	}
	// Once answered, a reload shows the chat closed and asks nothing.
	after := resumeWidget(t, base, token, conv)
	after.next("closed", ofType("closed"))
	after.none("survey after the answer", ofType("survey"), 500*time.Millisecond)
	res := restGet(t, base+"/api/v1/stats?report=csat", login(t, base, "admin", "admin-password-1"))
	if !strings.Contains(res, `{"dimension":"all","key":"","sent":1,"responses":1,"good":1,"scores":[0,0,0,0,1],"csat":1,"response_rate":1}`) {
		t.Fatalf("csat after one 5: %s", res)
	}
}

// resumeWidget opens a widget socket as a reloaded page does: the visitor's
// token and the conversation it was showing.
func resumeWidget(t *testing.T, base, token, conv string) *consoleClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/chat/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(map[string]any{"type": "resume", "token": token, "conversation": conv}); err != nil {
		t.Fatal(err)
	}
	c := &consoleClient{t: t, ws: ws}
	if w := c.next("welcome", ofType("welcome")); w["conversation"] == nil {
		t.Fatalf("resumed welcome without the conversation: %v", w)
	}
	return c
}
