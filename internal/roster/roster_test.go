package roster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/routing"
)

// One redis-server serves the package; each test has its own workspace.
var (
	testServer *redistest.Server
	wsCounter  atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &testServer))
}

type fixture struct {
	svc    *Service
	auth   *auth.Service
	engine *routing.Engine
}

// newFixture builds the roster on a real account store and routing engine
// with two queues, support and billing.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	rdb := testServer.NewClient(t)
	ws := fmt.Sprintf("roster%d", wsCounter.Add(1))
	a, err := auth.New(auth.Config{Redis: rdb, Workspace: ws, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	e, err := routing.New(routing.Params{Client: rdb, Workspace: ws, DirectCalls: true,
		Queues: []routing.QueueConfig{{Name: "support"}, {Name: "billing"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: New(a, e), auth: a, engine: e}
}

func TestAddReachesRoutingAndAccounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ag, pw, err := f.svc.Add(ctx, NewAgent{ID: "bo", Name: "Bo Berg", Skills: []string{"es"},
		Queues: []string{"billing"}, Capacity: map[string]int{"chat": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) < auth.MinPasswordLen {
		t.Fatalf("generated password %q", pw)
	}
	if ag.Role != auth.RoleAgent || ag.State != "offline" || ag.Capacity["chat"] != 1 || ag.Capacity["sms"] != channel.SMS.DefaultCapacity() {
		t.Fatalf("added: %+v", ag)
	}
	if _, err := f.auth.Login(ctx, "bo", pw, "192.0.2.1"); err != nil {
		t.Fatalf("login with the generated password: %v", err)
	}
	st, err := f.engine.Agent(ctx, "bo")
	if err != nil || st.Name != "Bo Berg" || strings.Join(st.Skills, ",") != "es" || strings.Join(st.Queues, ",") != "billing" {
		t.Fatalf("routing: %+v %v", st, err)
	}

	// Capacity 1 on chat is what matching uses: the second chat waits.
	if err := f.engine.SetAgentState(ctx, "bo", routing.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c1", "c2"} {
		if err := f.engine.Enqueue(ctx, routing.Request{ConversationID: id, Queue: "billing", Channel: "chat"}); err != nil {
			t.Fatal(err)
		}
	}
	c1, _ := f.engine.Conversation(ctx, "c1")
	c2, _ := f.engine.Conversation(ctx, "c2")
	if c1.State != routing.ConvOffered || c1.AgentID != "bo" || c2.State != routing.ConvWaiting {
		t.Fatalf("c1 %s %s, c2 %s", c1.State, c1.AgentID, c2.State)
	}
	// A skill the agent lacks is not offered to them.
	if err := f.engine.Enqueue(ctx, routing.Request{ConversationID: "s1", Queue: "billing", Channel: "sms", Skills: []string{"de"}}); err != nil {
		t.Fatal(err)
	}
	if s1, _ := f.engine.Conversation(ctx, "s1"); s1.State != routing.ConvWaiting {
		t.Fatalf("offered without the skill: %+v", s1)
	}
}

func TestAddRefusesBadInputWritingNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.Add(ctx, NewAgent{ID: "ana", Password: "ana-password"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc string
		n    NewAgent
		want error
	}{
		{desc: "unknown queue", n: NewAgent{ID: "x1", Queues: []string{"sales"}}, want: ErrInvalid},
		{desc: "capacity too high", n: NewAgent{ID: "x2", Capacity: map[string]int{"chat": 500}}, want: ErrInvalid},
		{desc: "negative capacity", n: NewAgent{ID: "x3", Capacity: map[string]int{"chat": -1}}, want: ErrInvalid},
		{desc: "unknown channel", n: NewAgent{ID: "x4", Capacity: map[string]int{"fax": 1}}, want: ErrInvalid},
		{desc: "bad id", n: NewAgent{ID: "x y"}, want: ErrInvalid},
		{desc: "bad role", n: NewAgent{ID: "x5", Role: "owner"}, want: ErrInvalid},
		{desc: "short password", n: NewAgent{ID: "x6", Password: "short"}, want: ErrInvalid},
		{desc: "taken id", n: NewAgent{ID: "ana"}, want: ErrExists},
	}
	for _, tc := range cases {
		_, _, err := f.svc.Add(ctx, tc.n)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.desc, err, tc.want)
		}
		if tc.n.Password != "" && strings.Contains(fmt.Sprint(err), tc.n.Password) {
			t.Errorf("%s: password in the error %q", tc.desc, err)
		}
	}
	all, err := f.svc.List(ctx)
	if err != nil || len(all) != 1 || all[0].ID != "ana" {
		t.Fatalf("after refusals: %+v %v", all, err)
	}
	if _, err := f.engine.Agent(ctx, "x1"); !errors.Is(err, routing.ErrNotFound) {
		t.Fatalf("routing knows a refused agent: %v", err)
	}
}

func TestUpdateChangesOnlyWhatIsGiven(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.Add(ctx, NewAgent{ID: "cy", Name: "Cy", Skills: []string{"fr"}, Capacity: map[string]int{"chat": 2, "sms": 1}}); err != nil {
		t.Fatal(err)
	}
	// A setting only the configuration file can give survives admin edits.
	st, _ := f.engine.Agent(ctx, "cy")
	cfg := st.Config()
	cfg.VoiceShared, cfg.MaxMissedOffers = true, 7
	if err := f.engine.UpsertAgent(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	role := auth.RoleSupervisor
	skills := []string{"fr", "de"}
	ag, err := f.svc.Update(ctx, "admin", "cy", Change{Role: &role, Skills: &skills, Capacity: map[string]int{"chat": 4}})
	if err != nil {
		t.Fatal(err)
	}
	if ag.Role != auth.RoleSupervisor || ag.Name != "Cy" || ag.Capacity["chat"] != 4 || ag.Capacity["sms"] != 1 ||
		strings.Join(ag.Skills, ",") != "de,fr" {
		t.Fatalf("updated: %+v", ag)
	}
	st, _ = f.engine.Agent(ctx, "cy")
	if !st.VoiceShared || st.MaxMissedOffers != 7 || st.Capacity["chat"] != 4 {
		t.Fatalf("routing after update: %+v", st)
	}
	acct, _ := f.auth.Account(ctx, "cy")
	if acct.Role != auth.RoleSupervisor || strings.Join(acct.Skills, ",") != "fr,de" {
		t.Fatalf("account after update: %+v", acct)
	}
	bad := []string{"nowhere"}
	if _, err := f.svc.Update(ctx, "admin", "cy", Change{Queues: &bad}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown queue: %v", err)
	}
	if _, err := f.svc.Update(ctx, "admin", "ghost", Change{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
}

func TestDisableEnableAndPasswordReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.Add(ctx, NewAgent{ID: "di", Password: "first-password"}); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.SetAgentState(ctx, "di", routing.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.Enqueue(ctx, routing.Request{ConversationID: "c1", Channel: "chat"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.engine.Conversation(ctx, "c1"); c.AgentID != "di" {
		t.Fatalf("not offered: %+v", c)
	}
	if err := f.svc.SetDisabled(ctx, "admin", "di", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Login(ctx, "di", "first-password", "192.0.2.2"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("disabled login: %v", err)
	}
	st, _ := f.engine.Agent(ctx, "di")
	c, _ := f.engine.Conversation(ctx, "c1")
	if st.State != routing.StateOffline || c.State != routing.ConvWaiting {
		t.Fatalf("after disable: agent %s, conversation %s", st.State, c.State)
	}
	if err := f.svc.SetDisabled(ctx, "admin", "di", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Login(ctx, "di", "first-password", "192.0.2.2"); err != nil {
		t.Fatalf("enabled login: %v", err)
	}

	gen, err := f.svc.ResetPassword(ctx, "di", "")
	if err != nil || len(gen) < auth.MinPasswordLen {
		t.Fatalf("reset: %q %v", gen, err)
	}
	if _, err := f.auth.Login(ctx, "di", "first-password", "192.0.2.3"); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := f.auth.Login(ctx, "di", gen, "192.0.2.3"); err != nil {
		t.Fatalf("generated password: %v", err)
	}
	if gen, err := f.svc.ResetPassword(ctx, "di", "chosen-by-admin"); err != nil || gen != "" {
		t.Fatalf("chosen: %q %v", gen, err)
	}
	if _, err := f.auth.Login(ctx, "di", "chosen-by-admin", "192.0.2.3"); err != nil {
		t.Fatalf("chosen password: %v", err)
	}
	if _, err := f.svc.ResetPassword(ctx, "ghost", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestAdminCannotLockThemselvesOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.Add(ctx, NewAgent{ID: "root", Role: auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetDisabled(ctx, "root", "root", true); !errors.Is(err, ErrSelf) {
		t.Fatalf("self-disable: %v", err)
	}
	agent := auth.RoleAgent
	if _, err := f.svc.Update(ctx, "root", "root", Change{Role: &agent}); !errors.Is(err, ErrSelf) {
		t.Fatalf("self-demote: %v", err)
	}
	if a, _ := f.svc.Get(ctx, "root"); a.Disabled || a.Role != auth.RoleAdmin {
		t.Fatalf("changed anyway: %+v", a)
	}
	// The command line has no signed-in admin and may.
	if err := f.svc.SetDisabled(ctx, "", "root", true); err != nil {
		t.Fatal(err)
	}
}

func TestCLI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var out bytes.Buffer
	caps, err := ParseCapacity("chat=2, sms=4")
	if err != nil || caps["chat"] != 2 || caps["sms"] != 4 {
		t.Fatalf("ParseCapacity: %v %v", caps, err)
	}
	if _, err := ParseCapacity("chat"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ParseCapacity without number: %v", err)
	}
	n := NewAgent{ID: "ana", Name: "Ana Ruiz", Skills: []string{"es", "billing"}, Queues: []string{"support"}, Capacity: caps}
	if err := AgentAdd(ctx, f.svc, n, strings.NewReader("pass-from-stdin\r\n"), &out); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Login(ctx, "ana", "pass-from-stdin", "192.0.2.1"); err != nil {
		t.Fatalf("login with the stdin password: %v", err)
	}
	if err := AgentAdd(ctx, f.svc, NewAgent{ID: "x"}, strings.NewReader(""), &out); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty stdin: %v", err)
	}
	if err := AgentDisable(ctx, f.svc, "ana", &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := AgentList(ctx, f.svc, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"Ana Ruiz", "billing,es", "chat=2", "sms=4", "disabled"} {
		if !strings.Contains(s, want) {
			t.Fatalf("agent list lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "pass-from-stdin") || strings.Contains(s, "$2a$") {
		t.Fatalf("secret in the list:\n%s", s)
	}
}
