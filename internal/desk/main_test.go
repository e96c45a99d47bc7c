package desk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/routing"
)

// server is the package's redis-server; each test has its own workspace.
var server *redistest.Server

func TestMain(m *testing.M) {
	if os.Getenv(promiseCrashEnv) != "" {
		os.Exit(promiseCrashChild())
	}
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &server))
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// The people of the tests: two agents and a supervisor, all routing agents.
var (
	ana = Actor{AccountID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}
	bo  = Actor{AccountID: "bo", Name: "Bo", Role: auth.RoleAgent}
	sam = Actor{AccountID: "sam", Name: "Sam", Role: auth.RoleSupervisor}
)

// ourAddress routes to a skill no agent has, so routing never offers a
// test's conversation by itself: each test puts it where it wants it.
const ourAddress = "+15550000000"

type env struct {
	t        *testing.T
	rdb      *redis.Client
	engine   *routing.Engine
	convs    *conversation.Service
	desk     *Desk
	auth     *auth.Service
	promises *promise.Service
	clock    *testClock // the promise service's
	seq      atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb := server.NewClient(t)
	ws := nonWord.ReplaceAllString(t.Name(), "_") + "_" + rand.Text()[:10]
	engine, err := routing.New(routing.Params{Client: rdb, Workspace: ws, Queues: []routing.QueueConfig{
		{Name: "support"}, {Name: "wrap", WrapUpSeconds: 3600}}})
	if err != nil {
		t.Fatal(err)
	}
	convs, err := conversation.New(conversation.Params{Redis: rdb, Workspace: ws, Router: Router{Engine: engine},
		DefaultQueue: "support", AttachmentDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	authSvc, err := auth.New(auth.Config{Redis: rdb, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Now()}
	proms, err := promise.New(promise.Params{Redis: rdb, Workspace: ws, Router: PromiseRouter{Engine: engine, Conversations: convs},
		OwnerWindow: 5 * time.Minute, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Params{Engine: engine, Conversations: convs, Auth: authSvc, Promises: proms})
	if err != nil {
		t.Fatal(err)
	}
	convs.AddRoute(ourAddress, conversation.Route{Queue: "support", Skills: []string{"nobody"}})
	ctx := context.Background()
	for _, a := range []Actor{ana, bo, sam, {AccountID: "cy"}} {
		if err := engine.UpsertAgent(ctx, routing.AgentConfig{ID: a.AccountID, Name: a.Name, Queues: []string{"support", "wrap"},
			Capacity: map[string]int{"sms": 1000}}); err != nil {
			t.Fatal(err)
		}
		if err := engine.SetAgentState(ctx, a.AccountID, routing.StateAvailable, ""); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, rdb: rdb, engine: engine, convs: convs, desk: d, auth: authSvc, promises: proms, clock: clock}
}

// conversation returns a new conversation (of a new customer) in standing
// s as seen by who.
func (e *env) conversation(who Actor, s Standing) (convID, customerID string) {
	e.t.Helper()
	ctx := context.Background()
	n := e.seq.Add(1)
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: fmt.Sprintf("+1555%07d", n), To: ourAddress,
		Text: "help", ProviderID: fmt.Sprintf("SM%d", n)})
	if err != nil {
		e.t.Fatal(err)
	}
	id := r.ConversationID
	other := bo
	if who.AccountID == bo.AccountID {
		other = ana
	}
	offer := func(queue, to string) {
		if err := e.engine.Transfer(ctx, id, routing.Target{Queue: queue, AgentID: to}); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.convs.Offered(ctx, id, to, time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	accept := func(to string) {
		if err := e.engine.Accept(ctx, id, to); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.convs.Accepted(ctx, id, to, time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	closeBy := func(by string) {
		if _, err := e.convs.Close(ctx, id, by, "resolved"); err != nil {
			e.t.Fatal(err)
		}
	}
	switch s {
	case OfferedToMe:
		offer("", who.AccountID)
	case OfferedToOther:
		offer("", other.AccountID)
	case ActiveMine:
		offer("", who.AccountID)
		accept(who.AccountID)
	case ActiveOther:
		offer("", other.AccountID)
		accept(other.AccountID)
	case WrapUp:
		offer("wrap", who.AccountID)
		accept(who.AccountID)
		closeBy(who.AccountID)
	case ClosedMine:
		offer("", who.AccountID)
		accept(who.AccountID)
		closeBy(who.AccountID)
	case ClosedOther:
		offer("", other.AccountID)
		accept(other.AccountID)
		closeBy(other.AccountID)
	}
	return id, r.CustomerID
}

// outcome names an error as the table's letters do.
func outcome(err error) byte {
	switch {
	case err == nil:
		return 'y'
	case errors.Is(err, ErrNotFound):
		return 'n'
	case errors.Is(err, ErrForbidden):
		return 'f'
	case errors.Is(err, ErrOfferGone):
		return 'g'
	case errors.Is(err, ErrClosed):
		return 'c'
	}
	return '?'
}

// perform does action as who on the conversation (or its customer).
func (e *env) perform(who Actor, action Action, convID, customerID string) error {
	ctx := context.Background()
	d := e.desk
	var err error
	switch action {
	case See:
		_, err = d.Conversation(ctx, who, convID)
	case Accept:
		err = d.Accept(ctx, who, convID)
	case Decline:
		err = d.Decline(ctx, who, convID)
	case Reply:
		_, err = d.Reply(ctx, who, convID, "on it", nil)
	case Note:
		_, err = d.Note(ctx, who, convID, "noted")
	case Close:
		_, err = d.Close(ctx, who, convID, "resolved")
	case Transfer:
		_, err = d.Transfer(ctx, who, convID, "support", "")
	case Assign:
		err = d.Assign(ctx, who, convID, "cy")
	case EditCustomer:
		name := "Renamed"
		_, err = d.UpdateCustomer(ctx, who, customerID, conversation.CustomerUpdate{Name: &name})
	case MergeCustomer:
		// Merging needs a second customer; its own rule is tested through
		// the REST API. Seeing the customer is what this table decides.
		_, err = d.Customer(ctx, who, customerID)
	case LinkAddress:
		_, err = d.LinkAddress(ctx, who, customerID, channel.Email, fmt.Sprintf("c%s@example.com", customerID))
	case Promise:
		_, err = d.MakePromise(ctx, who, convID, PromiseRequest{What: "call back", Due: e.clock.Now().Add(time.Hour)})
	case KeepPromise:
		// Someone's promise on the conversation, made behind the desk.
		p, perr := e.promises.Make(ctx, promise.Request{ConversationID: convID, AgentID: "cy", What: "call back", Due: e.clock.Now().Add(time.Hour)})
		if perr != nil {
			e.t.Fatal(perr)
		}
		_, err = d.KeepPromise(ctx, who, convID, p.ID, promise.ViaNote, "")
	default:
		e.t.Fatalf("no way to perform %s", action)
	}
	return err
}

// TestDecisionTable performs every action as an agent and as a supervisor
// on a conversation in every standing, and checks that the desk answers as
// the table says, and that it classified the standing it was set up in.
func TestDecisionTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, who := range []Actor{ana, sam} {
		for _, action := range Actions {
			for _, s := range Standings {
				t.Run(fmt.Sprintf("%s/%s/%s", who.Role, action, s), func(t *testing.T) {
					convID, custID := e.conversation(who, s)
					if got, err := e.desk.Standing(context.Background(), who, convID); err != nil || got != s {
						t.Fatalf("standing %v, %v; set up as %s", got, err, s)
					}
					want := outcome(Decide(who, action, s))
					err := e.perform(who, action, convID, custID)
					if got := outcome(err); got != want {
						t.Errorf("%s %s on %s: got %c (%v), want %c", who.Role, action, s, got, err, want)
					}
				})
			}
		}
	}
}
