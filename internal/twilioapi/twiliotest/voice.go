package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/twilioapi"
)

// Call is a call the fake created (an outbound call by CreateCall).
type Call struct {
	Sid        string
	AccountSid string
	From, To   string
	// URL is where Twilio would fetch the call's TwiML when it is
	// answered; Twiml is the inline document when given instead.
	URL, Method, Twiml string
	// StatusCallback and StatusCallbackEvents are the status callback
	// subscription (events as named: initiated, ringing, answered,
	// completed).
	StatusCallback       string
	StatusCallbackEvents []string
	Timeout              string
	Status               string
}

// CallUpdate is one update of a live call (a redirect or a hang-up).
type CallUpdate struct {
	CallSid            string
	URL, Method, Twiml string
	// Status is "completed" or "canceled" for a hang-up; empty for a
	// redirect.
	Status string
	At     time.Time
}

// MemberUpdate is one dequeue of a queue member: Twilio takes the call
// out of the queue and runs the TwiML at URL.
type MemberUpdate struct {
	QueueSid, CallSid string
	URL, Method       string
	At                time.Time
}

// Calls returns the calls created so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallUpdates returns the call updates received so far, oldest first.
func (s *Server) CallUpdates() []CallUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallUpdate(nil), s.updates...)
}

// MemberUpdates returns the queue-member dequeues received so far, oldest
// first.
func (s *Server) MemberUpdates() []MemberUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MemberUpdate(nil), s.members...)
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	to, from := f.Get("To"), f.Get("From")
	switch {
	case to == "":
		writeError(w, Failure{HTTPStatus: 400, Code: 21201, Message: "No 'To' number is specified"})
		return
	case from == "":
		writeError(w, Failure{HTTPStatus: 400, Code: 21213, Message: "No 'From' number is specified"})
		return
	case f.Get("Url") == "" && f.Get("Twiml") == "" && f.Get("ApplicationSid") == "":
		writeError(w, Failure{HTTPStatus: 400, Code: 21205, Message: "Url, Twiml or ApplicationSid is required"})
		return
	case !strings.HasPrefix(to, "+") && !strings.HasPrefix(to, "client:") && !strings.HasPrefix(to, "sip:"):
		writeError(w, Failure{HTTPStatus: 400, Code: 21211, Message: "Invalid 'To' Phone Number: " + to})
		return
	}
	c := Call{
		Sid: "CA" + randomHex(16), AccountSid: s.creds.AccountSID, From: from, To: to,
		URL: f.Get("Url"), Method: f.Get("Method"), Twiml: f.Get("Twiml"),
		StatusCallback: f.Get("StatusCallback"), StatusCallbackEvents: f["StatusCallbackEvent"],
		Timeout: f.Get("Timeout"), Status: "queued",
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, s.callResource(c.Sid, c.From, c.To, c.Status))
}

func (s *Server) updateCall(w http.ResponseWriter, r *http.Request, sid string) {
	f := r.PostForm
	u := CallUpdate{CallSid: sid, URL: f.Get("Url"), Method: f.Get("Method"), Twiml: f.Get("Twiml"),
		Status: f.Get("Status"), At: time.Now()}
	if u.URL == "" && u.Twiml == "" && u.Status == "" {
		writeError(w, Failure{HTTPStatus: 400, Code: 21205, Message: "Url, Twiml or Status is required"})
		return
	}
	if u.Status != "" && u.Status != "completed" && u.Status != "canceled" {
		writeError(w, Failure{HTTPStatus: 400, Code: 20001, Message: "Invalid Status " + u.Status})
		return
	}
	s.mu.Lock()
	s.updates = append(s.updates, u)
	status := "in-progress"
	for i := range s.calls {
		if s.calls[i].Sid == sid && u.Status != "" {
			s.calls[i].Status = u.Status
		}
	}
	s.mu.Unlock()
	if u.Status != "" {
		status = u.Status
	}
	writeJSON(w, http.StatusOK, s.callResource(sid, "", "", status))
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request, queueSid, callSid string) {
	f := r.PostForm
	if f.Get("Url") == "" {
		writeError(w, Failure{HTTPStatus: 400, Code: 20001, Message: "Missing required parameter Url in the post body"})
		return
	}
	m := MemberUpdate{QueueSid: queueSid, CallSid: callSid, URL: f.Get("Url"), Method: f.Get("Method"), At: time.Now()}
	s.mu.Lock()
	s.members = append(s.members, m)
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC1123Z)
	writeJSON(w, http.StatusOK, map[string]any{
		"call_sid": callSid, "queue_sid": queueSid, "date_enqueued": now, "position": 1, "wait_time": 0,
		"uri": "/2010-04-01/Accounts/" + s.creds.AccountSID + "/Queues/" + queueSid + "/Members/" + callSid + ".json",
	})
}

func (s *Server) callResource(sid, from, to, status string) map[string]any {
	now := time.Now().UTC().Format(time.RFC1123Z)
	return map[string]any{
		"sid": sid, "account_sid": s.creds.AccountSID, "api_version": "2010-04-01",
		"date_created": now, "date_updated": now, "direction": "outbound-api",
		"from": from, "to": to, "status": status, "price_unit": "USD",
		"uri": "/2010-04-01/Accounts/" + s.creds.AccountSID + "/Calls/" + sid + ".json",
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Sign is the X-Twilio-Signature Twilio would send with form posted to
// webhookURL under the fake's account.
func (s *Server) Sign(webhookURL string, form url.Values) string {
	return twilioapi.Sign(s.creds.AuthToken, webhookURL, form)
}

// InboundCall is the form Twilio posts to a number's voice webhook when
// from calls our number to, with a fresh CallSid.
func InboundCall(accountSID, from, to string) url.Values {
	return url.Values{
		"AccountSid": {accountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {NewCallSid()},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}, "From": {from}, "To": {to},
		"Caller": {from}, "Called": {to}, "FromCountry": {"US"}, "ToCountry": {"US"},
	}
}

// CallForm is the common part of every voice webhook Twilio posts about
// call sid (wait URL, Enqueue action, status callback); callers add the
// webhook's own parameters.
func CallForm(accountSID, sid, from, to, status string) url.Values {
	return url.Values{
		"AccountSid": {accountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {sid},
		"CallStatus": {status}, "From": {from}, "To": {to}, "Direction": {"inbound"},
	}
}

// NewCallSid is a fresh call SID (CA + 32 hex digits).
func NewCallSid() string { return "CA" + randomHex(16) }

// NewQueueSid is a fresh queue SID (QU + 32 hex digits).
func NewQueueSid() string { return "QU" + randomHex(16) }

// NewRecordingSid is a fresh recording SID (RE + 32 hex digits).
func NewRecordingSid() string { return "RE" + randomHex(16) }

// String describes a member update for test failures.
func (m MemberUpdate) String() string {
	return fmt.Sprintf("dequeue %s from %s to %s", m.CallSid, m.QueueSid, m.URL)
}

