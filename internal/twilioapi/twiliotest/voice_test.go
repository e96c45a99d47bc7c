package twiliotest_test

import (
	"net/url"
	"testing"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func TestVoiceResourcesRecorded(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	rc := fake.Client(t)
	callSid, queueSid := twiliotest.NewCallSid(), twiliotest.NewQueueSid()
	mp := &openapi.UpdateMemberParams{}
	mp.SetUrl("https://sb.example.com/twilio/voice/connect?c=1")
	mp.SetMethod("POST")
	if _, err := rc.Api.UpdateMember(queueSid, callSid, mp); err != nil {
		t.Fatal(err)
	}
	cp := &openapi.CreateCallParams{}
	cp.SetTo("client:ana")
	cp.SetFrom("+14155550199")
	cp.SetUrl("https://sb.example.com/twilio/voice/callback/agent")
	cp.SetStatusCallback("https://sb.example.com/twilio/voice/callback/status")
	cp.SetStatusCallbackEvent([]string{"answered", "completed"})
	call, err := rc.Api.CreateCall(cp)
	if err != nil {
		t.Fatal(err)
	}
	up := &openapi.UpdateCallParams{}
	up.SetStatus("completed")
	if _, err := rc.Api.UpdateCall(*call.Sid, up); err != nil {
		t.Fatal(err)
	}
	if m := fake.MemberUpdates(); len(m) != 1 || m[0].QueueSid != queueSid || m[0].CallSid != callSid || m[0].Method != "POST" {
		t.Fatalf("member updates %+v", m)
	}
	c := fake.Calls()
	if len(c) != 1 || c[0].To != "client:ana" || len(c[0].StatusCallbackEvents) != 2 || c[0].Status != "completed" {
		t.Fatalf("calls %+v", c)
	}
	if u := fake.CallUpdates(); len(u) != 1 || u[0].CallSid != *call.Sid || u[0].Status != "completed" {
		t.Fatalf("call updates %+v", u)
	}

	// A dequeue without Url is refused as Twilio does.
	if _, err := rc.Api.UpdateMember(queueSid, callSid, &openapi.UpdateMemberParams{}); creds.Explain(err).Code != 20001 {
		t.Fatalf("dequeue without Url: %v", err)
	}
	fake.FailNext(twiliotest.Failure{HTTPStatus: 503, Code: 20503, Message: "down"})
	if _, err := rc.Api.UpdateMember(queueSid, callSid, mp); !creds.Explain(err).Temporary {
		t.Fatalf("failure not injected: %v", err)
	}
}

func TestInboundCallIsSignable(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	form := twiliotest.InboundCall(creds.AccountSID, "+14155550100", "+14155550199")
	u := "https://sb.example.com/twilio/voice"
	rv := client.NewRequestValidator(creds.AuthToken)
	if !rv.ValidateBody(u, []byte(form.Encode()), fake.Sign(u, form)) {
		t.Fatal("signature rejected")
	}
	if _, err := url.ParseQuery(form.Encode()); err != nil || len(form.Get("CallSid")) != 34 {
		t.Fatalf("form %v", form)
	}
}
