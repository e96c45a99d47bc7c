package survey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/redistest"
)

var server *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &server))
}

var wsSeq atomic.Int64

func workspace(t testing.TB) string {
	r := strings.NewReplacer("/", "-", " ", "-")
	return fmt.Sprintf("%s-%d", r.Replace(t.Name()), wsSeq.Add(1))
}

// sender records what it was asked to send.
type sender struct {
	mu   sync.Mutex
	sent []channel.Outbound
	err  error
}

func (s *sender) Send(_ context.Context, out channel.Outbound) (channel.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return channel.SendResult{}, s.err
	}
	s.sent = append(s.sent, out)
	return channel.SendResult{ProviderID: "SM" + out.MessageID}, nil
}

func (s *sender) all() []channel.Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channel.Outbound(nil), s.sent...)
}

type rater struct {
	mu  sync.Mutex
	got []Rating
}

func (r *rater) Rated(_ context.Context, x Rating) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, x)
	return nil
}

var always = &hours.Week{Open: []hours.Span{{Days: "mon-sun", From: "00:00", To: "24:00"}}}

func newService(t *testing.T, ws string, cfg Config, now func() time.Time) *Service {
	t.Helper()
	if cfg.SendHours == nil {
		cfg.SendHours = always
	}
	s, err := New(Params{Redis: server.NewClient(t), Workspace: ws, Config: cfg, Now: now,
		PublicURL: "https://support.example.test", Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func resolved(id string, ch channel.Name, to string) conversation.Conversation {
	return conversation.Conversation{ID: id, Channel: ch, CustomerID: "cu_" + id, CustomerAddress: to,
		OurAddress: "+15550001111", Queue: "support", State: conversation.StateClosed, AgentID: "ana",
		Disposition: "resolved", ClosedAt: time.Now()}
}

// TestOneSurveyPerConversationAcrossGateways: three gateways hear of the
// same close five times each and all fire due surveys at once; exactly one
// question goes out.
func TestOneSurveyPerConversationAcrossGateways(t *testing.T) {
	ws := workspace(t)
	ctx := context.Background()
	snd := &sender{}
	var gws []*Service
	for i := 0; i < 3; i++ {
		s := newService(t, ws, Config{DelaySeconds: map[string]int{"sms": 0}}, nil)
		s.AddSender(channel.SMS, snd)
		gws = append(gws, s)
	}
	conv := resolved("cv_once", channel.SMS, "+46701234567")
	var wg sync.WaitGroup
	for _, s := range gws {
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Closed(ctx, conv, "Ana"); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for round := 0; round < 3; round++ {
		for _, s := range gws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.SendDue(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	got := snd.all()
	if len(got) != 1 {
		t.Fatalf("%d questions sent, want 1: %+v", len(got), got)
	}
	if got[0].Text != "Thanks for talking to Ana today. How did we do? Reply 1–5 (5 = great)." || got[0].To != "+46701234567" || got[0].From != "+15550001111" {
		t.Fatalf("question %+v", got[0])
	}
}

// TestWhoGetsAQuestion: only resolved closes of served conversations, and
// voice only when a number to text from is configured; the due time is
// moved out of quiet hours.
func TestWhoGetsAQuestion(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		desc    string
		mutate  func(*conversation.Conversation)
		cfg     Config
		wantDue bool
		wantOn  string
	}{
		{desc: "resolved sms", wantDue: true, wantOn: "sms"},
		{desc: "spam", mutate: func(c *conversation.Conversation) { c.Disposition = "spam" }},
		{desc: "abandoned", mutate: func(c *conversation.Conversation) {
			c.Disposition = ""
			c.State = conversation.StateAbandoned
			c.AgentID = ""
		}},
		{desc: "customer ended", mutate: func(c *conversation.Conversation) { c.Disposition = conversation.DispositionCustomerEnded }},
		// A supervisor may close an offered conversation as resolved; the
		// agent it was offered to never spoke to the customer.
		{desc: "resolved from the queue", mutate: func(c *conversation.Conversation) { c.ClosedFrom = conversation.FromOffered }},
		{desc: "resolved while waiting", mutate: func(c *conversation.Conversation) { c.ClosedFrom = conversation.FromWaiting }},
		{desc: "voice without a number", mutate: func(c *conversation.Conversation) { c.Channel = channel.Voice }},
		{desc: "voice texted", mutate: func(c *conversation.Conversation) { c.Channel = channel.Voice }, cfg: Config{VoiceSMSFrom: "+15550002222"}, wantDue: true, wantOn: "sms"},
		{desc: "surveys off", cfg: Config{Off: true}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ws := workspace(t)
			s := newService(t, ws, tc.cfg, nil)
			c := resolved("cv_1", channel.SMS, "+46701234567")
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			if err := s.Closed(ctx, c, "Ana"); err != nil {
				t.Fatal(err)
			}
			sv, err := s.Get(ctx, "cv_1")
			if !tc.wantDue {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("survey %+v scheduled, want none", sv)
				}
				return
			}
			if err != nil || sv.State != StateScheduled {
				t.Fatalf("survey %+v, %v", sv, err)
			}
			ask, _ := s.p.Redis.HGet(ctx, s.k.survey("cv_1"), "ask").Result()
			if ask != tc.wantOn {
				t.Fatalf("asked on %q, want %q", ask, tc.wantOn)
			}
		})
	}

	t.Run("quiet hours", func(t *testing.T) {
		ws := workspace(t)
		loc, _ := time.LoadLocation("Europe/Stockholm")
		s, err := New(Params{Redis: server.NewClient(t), Workspace: ws, Location: loc,
			Config: Config{DelaySeconds: map[string]int{"sms": 600}}})
		if err != nil {
			t.Fatal(err)
		}
		// Closed at 20:55 local: due 21:05, in quiet hours, so 08:00 next day.
		closed := time.Date(2026, 12, 3, 20, 55, 0, 0, loc)
		c := resolved("cv_late", channel.SMS, "+46701234567")
		c.ClosedAt = closed
		if err := s.Closed(ctx, c, "Ana"); err != nil {
			t.Fatal(err)
		}
		sv, _ := s.Get(ctx, "cv_late")
		if want := time.Date(2026, 12, 4, 8, 0, 0, 0, loc); !sv.Due.Equal(want) {
			t.Fatalf("due %v, want %v", sv.Due.In(loc), want)
		}
		// A chat is asked at once: the visitor is on the page.
		c = resolved("cv_chat", channel.Chat, "v_1")
		c.ClosedAt = closed
		_ = s.Closed(ctx, c, "Ana")
		if sv, _ := s.Get(ctx, "cv_chat"); !sv.Due.Equal(closed) {
			t.Fatalf("chat due %v, want the close", sv.Due)
		}
	})
}

// TestReplies: a bare digit rates and is consumed; words after it rate and
// go on; other text goes on; a retry of the rating delivery is consumed
// again without a second rating; a later digit is a message.
func TestReplies(t *testing.T) {
	ctx := context.Background()
	ws := workspace(t)
	r := &rater{}
	s := newService(t, ws, Config{DelaySeconds: map[string]int{"sms": 0}}, nil)
	s.SetRater(r)
	s.AddSender(channel.SMS, &sender{})
	for _, id := range []string{"cv_a", "cv_b"} {
		to := map[string]string{"cv_a": "+46701111111", "cv_b": "+46702222222"}[id]
		if err := s.Closed(ctx, resolved(id, channel.SMS, to), "Ana"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SendDue(ctx); err != nil || n != 2 {
		t.Fatalf("sent %d, %v", n, err)
	}
	in := func(from, text, pid string) Match {
		t.Helper()
		m, err := s.Reply(ctx, channel.Inbound{Channel: channel.SMS, From: from, Text: text, ProviderID: pid})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := in("+46701111111", "when do you open?", "SM1"); m.Score != 0 || m.Consumed {
		t.Fatalf("a question is no rating: %+v", m)
	}
	if m := in("+46701111111", " 1 ", "SM2"); m.Score != 1 || !m.Consumed || m.ConversationID != "cv_a" || m.CustomerID != "cu_cv_a" {
		t.Fatalf("bare 1: %+v", m)
	}
	if m := in("+46701111111", " 1 ", "SM2"); m.Score != 1 || !m.Consumed {
		t.Fatalf("the same delivery again must be consumed again: %+v", m)
	}
	if m := in("+46701111111", "5", "SM3"); m.Score != 0 || m.Consumed {
		t.Fatalf("a second rating is a message: %+v", m)
	}
	if m := in("+46702222222", "2 the agent was rude", "SM4"); m.Score != 2 || m.Consumed {
		t.Fatalf("rating with words: %+v", m)
	}
	if m := in("+46709999999", "4", "SM5"); m.Score != 0 || m.Consumed {
		t.Fatalf("no survey, no rating: %+v", m)
	}
	if len(r.got) != 2 || r.got[0].Score != 1 || r.got[1].Comment != "the agent was rude" || r.got[1].AgentID != "ana" {
		t.Fatalf("rater heard %+v", r.got)
	}
	rows, err := s.Figures(ctx, time.Now(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	all := rows[0]
	if all.Dimension != "all" || all.Sent != 2 || all.Responses != 2 || all.Good != 0 || all.Scores != [5]int{1, 1, 0, 0, 0} || *all.ResponseRate != 1 || *all.CSAT != 0 {
		t.Fatalf("figures %+v", all)
	}
	// A new conversation ends the window: digits then answer the agent.
	_ = s.Closed(ctx, resolved("cv_c", channel.SMS, "+46703333333"), "Ana")
	_, _ = s.SendDue(ctx)
	if err := s.EndWindow(ctx, channel.SMS, "+46703333333"); err != nil {
		t.Fatal(err)
	}
	if m := in("+46703333333", "3", "SM6"); m.Score != 0 {
		t.Fatalf("after the window: %+v", m)
	}
}

// TestEmailLinks: the email carries five signed links; a link shows the
// choice without recording it (mail scanners follow links), the form
// records it once, and an edited link is refused.
func TestEmailLinks(t *testing.T) {
	ctx := context.Background()
	ws := workspace(t)
	snd := &sender{}
	s := newService(t, ws, Config{DelaySeconds: map[string]int{"email": 0}}, nil)
	s.AddSender(channel.Email, snd)
	c := resolved("cv_mail", channel.Email, "maria@example.com")
	c.OurAddress, c.ThreadHint = "help@example.com", "<m1@example.com>"
	if err := s.Closed(ctx, c, "Ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	got := snd.all()
	if len(got) != 1 || got[0].To != "maria@example.com" || got[0].ThreadHint != "<m1@example.com>" {
		t.Fatalf("email %+v", got)
	}
	body := got[0].Text
	if !strings.HasPrefix(body, "Thanks for talking to Ana. How did we do?") {
		t.Fatalf("email body %q", body)
	}
	for n := 1; n <= 5; n++ {
		if !strings.Contains(body, s.RateURL("cv_mail", n)) {
			t.Fatalf("link %d missing from %q", n, body)
		}
	}
	e := echo.New()
	s.Register(e)
	h := httptest.NewServer(e)
	defer h.Close()
	link, _ := url.Parse(s.RateURL("cv_mail", 4))
	page := h.URL + link.Path + "?" + link.RawQuery
	res, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "4 out of 5") {
		t.Fatalf("GET page: %d %s", res.StatusCode, b)
	}
	if sv, _ := s.Get(ctx, "cv_mail"); sv.Score != 0 {
		t.Fatal("following the link recorded a rating")
	}
	// An edited link (score changed) is refused.
	res, _ = http.Get(strings.Replace(page, "/4?", "/1?", 1))
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("edited link: %d", res.StatusCode)
	}
	post := func(u string) (int, string) {
		res, err := http.PostForm(u, url.Values{"comment": {"Quick & <b>kind</b>"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post(page); code != 200 || !strings.Contains(body, "Thank you for your rating.") {
		t.Fatalf("POST: %d %s", code, body)
	}
	sv, _ := s.Get(ctx, "cv_mail")
	if sv.Score != 4 || sv.Comment != "Quick & <b>kind</b>" {
		t.Fatalf("survey after POST %+v", sv)
	}
	// Single use: another link of the same email records nothing more.
	other, _ := url.Parse(s.RateURL("cv_mail", 1))
	if code, body := post(h.URL + other.Path + "?" + other.RawQuery); code != 200 || !strings.Contains(body, "recorded already") {
		t.Fatalf("second POST: %d %s", code, body)
	}
	if sv, _ := s.Get(ctx, "cv_mail"); sv.Score != 4 {
		t.Fatalf("rating changed to %d", sv.Score)
	}
}

// TestFailedSendsRetryThenGiveUp: a temporary failure is retried later; a
// permanent one (an opted-out number) ends the survey unsent.
func TestFailedSendsRetryThenGiveUp(t *testing.T) {
	ctx := context.Background()
	ws := workspace(t)
	now := time.Now()
	clock := func() time.Time { return now }
	snd := &sender{err: fmt.Errorf("twilio 503: %w", channel.ErrTemporary)}
	s := newService(t, ws, Config{DelaySeconds: map[string]int{"sms": 0}}, clock)
	s.AddSender(channel.SMS, snd)
	c := resolved("cv_r", channel.SMS, "+46701234567")
	c.ClosedAt = now
	_ = s.Closed(ctx, c, "Ana")
	if n, _ := s.SendDue(ctx); n != 1 {
		t.Fatalf("claimed %d", n)
	}
	if sv, _ := s.Get(ctx, "cv_r"); sv.State != StateScheduled {
		t.Fatalf("after a temporary failure: %+v", sv)
	}
	if n, _ := s.SendDue(ctx); n != 0 {
		t.Fatal("retried before its backoff")
	}
	snd.mu.Lock()
	snd.err = &channel.PermanentError{Code: "21610", Message: "the customer opted out of SMS"}
	snd.mu.Unlock()
	now = now.Add(2 * time.Minute)
	if n, _ := s.SendDue(ctx); n != 1 {
		t.Fatal("not retried after the backoff")
	}
	sv, _ := s.Get(ctx, "cv_r")
	if sv.State != StateFailed || !strings.Contains(sv.Error, "opted out") {
		t.Fatalf("after a permanent failure: %+v", sv)
	}
	if rows, _ := s.Figures(ctx, now, now); rows[0].Sent != 0 {
		t.Fatalf("an unsent survey counted sent: %+v", rows[0])
	}
}

// quickVisitor answers the chat question while it is being asked, as a
// visitor's button can before the survey is recorded as sent.
type quickVisitor struct {
	sender
	s   *Service
	err error
}

func (q *quickVisitor) AskRating(ctx context.Context, convID, _ string) error {
	q.err = q.s.Rate(ctx, convID, 4, "fast")
	return nil
}

// TestAnAnswerBeforeTheSurveyIsRecordedAsSentCounts: the visitor's answer
// that beats markSent is recorded, counted in the day's figures, and not
// turned back into "sent".
func TestAnAnswerBeforeTheSurveyIsRecordedAsSentCounts(t *testing.T) {
	ctx := context.Background()
	s := newService(t, workspace(t), Config{}, nil)
	q := &quickVisitor{s: s}
	s.AddSender(channel.Chat, q)
	if err := s.Closed(ctx, resolved("cv_quick", channel.Chat, "v_1"), "Ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if q.err != nil {
		t.Fatalf("the answer given while the question was asked: %v", q.err)
	}
	sv, err := s.Get(ctx, "cv_quick")
	if err != nil || sv.State != StateAnswered || sv.Score != 4 {
		t.Fatalf("survey = %+v, %v; want answered with 4", sv, err)
	}
	day := time.Now().Format(time.DateOnly)
	if n, _ := server.NewClient(t).HGet(ctx, s.k.fig(day), "rated|all|").Int(); n != 1 {
		t.Fatalf("rated|all| on %s = %d, want 1", day, n)
	}
}

// askedVisitor records the chat questions shown.
type askedVisitor struct {
	sender
	asked []string
}

func (a *askedVisitor) AskRating(_ context.Context, _ string, text string) error {
	a.asked = append(a.asked, text)
	return nil
}

// TestAChatQuestionStaysOpenUntilAnsweredOrLate: a page that reloads can
// ask again exactly what the visitor was asked, while an answer still counts.
func TestAChatQuestionStaysOpenUntilAnsweredOrLate(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	s := newService(t, workspace(t), Config{}, clock)
	v := &askedVisitor{}
	s.AddSender(channel.Chat, v)
	for _, id := range []string{"cv_answers", "cv_late"} {
		if err := s.Closed(ctx, resolved(id, channel.Chat, "v_"+id), "Ana"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.OpenQuestion(ctx, id); err != nil || ok {
			t.Fatalf("%s: open before it was asked (%v)", id, err)
		}
	}
	now = now.Add(time.Hour)
	if n, err := s.SendDue(ctx); err != nil || n != 2 {
		t.Fatalf("SendDue = %d, %v", n, err)
	}
	if len(v.asked) != 2 {
		t.Fatalf("asked %q", v.asked)
	}
	q, ok, err := s.OpenQuestion(ctx, "cv_answers")
	if err != nil || !ok || q != v.asked[0] {
		t.Fatalf("open question = %q, %v, %v; want %q", q, ok, err, v.asked[0])
	}
	if err := s.Rate(ctx, "cv_answers", 5, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.OpenQuestion(ctx, "cv_answers"); ok {
		t.Fatal("still open after the answer")
	}
	if _, ok, _ := s.OpenQuestion(ctx, "cv_late"); !ok {
		t.Fatal("cv_late not open within the window")
	}
	now = now.Add(DefaultWindow + time.Minute)
	if _, ok, _ := s.OpenQuestion(ctx, "cv_late"); ok {
		t.Fatal("open after the reply window")
	}
	if _, ok, err := s.OpenQuestion(ctx, "cv_nobody"); err != nil || ok {
		t.Fatalf("a conversation without a survey: %v, %v", ok, err)
	}
}
