// Package twiliotest is a recording fake of the part of Twilio's REST API
// Switchboard uses (creating messages; creating and updating calls;
// dequeuing queue members), for tests and local runs. It checks basic auth
// like Twilio, answers with Twilio-shaped resources and error bodies, can be
// told to fail the next calls (with a Retry-After header, if asked), and
// builds signed webhooks (inbound SMS and calls, status callbacks) as
// Twilio would send them.
package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/twilio/twilio-go"
)

// Request is one call the fake received.
type Request struct {
	Method string
	Path   string
	// Form is the parsed form body, byte-exact as sent.
	Form url.Values
	// Authorized is set when basic auth matched the fake's credentials.
	Authorized bool
	// At is when the fake received it.
	At time.Time
}

// Message is a message resource the fake created.
type Message struct {
	Sid            string
	AccountSid     string
	From, To, Body string
	StatusCallback string
	MediaURLs      []string
	Status         string
	NumSegments    int
}

// Failure is a canned error answer.
type Failure struct {
	// HTTPStatus is the status to answer, e.g. 429, 503 or 400.
	HTTPStatus int
	// Code and Message fill Twilio's error body; Code 0 with RawBody set
	// answers RawBody instead (a proxy's HTML page).
	Code    int
	Message string
	RawBody string
	// RetryAfter, when set, is sent verbatim as the Retry-After header:
	// delta-seconds ("30"), an HTTP date, or nonsense to test its refusal.
	RetryAfter string
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	// URL is the fake's base URL, for twilioapi.ClientOptions.BaseURL.
	URL string

	creds twilioapi.Credentials
	srv   *httptest.Server
	conns atomic.Int64 // TCP connections accepted

	mu       sync.Mutex
	requests []Request
	messages []Message
	calls    []Call
	updates  []CallUpdate
	members  []MemberUpdate
	failures []Failure
}

// New starts a fake that accepts creds and stops it when t ends.
func New(t testing.TB, creds twilioapi.Credentials) *Server {
	t.Helper()
	s := &Server{creds: creds}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client is our REST client (twilioapi.NewRestClient) pointed at the fake
// with the credentials it accepts.
func (s *Server) Client(t testing.TB) *twilio.RestClient {
	t.Helper()
	rc, err := twilioapi.NewRestClient(twilioapi.ClientOptions{Credentials: s.creds, BaseURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// Connections is how many TCP connections the fake has accepted: a client
// that keeps its connections alive opens few.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// FailNext makes the next len(f) creations or updates (messages, calls,
// queue members) fail with f, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f...)
}

// Requests returns every call received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages created so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user, pass, ok := r.BasicAuth()
	authorized := ok && user == s.creds.AccountSID && pass == s.creds.AuthToken
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Form: r.PostForm, Authorized: authorized, At: time.Now()})
	s.mu.Unlock()

	if !authorized {
		writeError(w, Failure{HTTPStatus: http.StatusUnauthorized, Code: 20003, Message: "Authenticate"})
		return
	}
	route := s.route(r)
	if route == nil {
		writeError(w, Failure{HTTPStatus: http.StatusNotFound, Code: 20404,
			Message: "The requested resource " + r.URL.Path + " was not found"})
		return
	}
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if fail != nil {
		writeError(w, *fail)
		return
	}
	route(w, r)
}

// route picks the handler of a request, or nil for a resource the fake
// does not serve.
func (s *Server) route(r *http.Request) http.HandlerFunc {
	if r.Method != http.MethodPost {
		return nil
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/"+s.creds.AccountSID+"/")
	if !ok {
		return nil
	}
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok {
		return nil
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && parts[0] == "Messages":
		return s.createMessage
	case len(parts) == 1 && parts[0] == "Calls":
		return s.createCall
	case len(parts) == 2 && parts[0] == "Calls" && parts[1] != "":
		return func(w http.ResponseWriter, r *http.Request) { s.updateCall(w, r, parts[1]) }
	case len(parts) == 4 && parts[0] == "Queues" && parts[1] != "" && parts[2] == "Members" && parts[3] != "":
		return func(w http.ResponseWriter, r *http.Request) { s.updateMember(w, r, parts[1], parts[3]) }
	}
	return nil
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	to, from, body := f.Get("To"), f.Get("From"), f.Get("Body")
	switch {
	case to == "":
		writeError(w, Failure{HTTPStatus: 400, Code: 21604, Message: "A 'To' phone number is required."})
		return
	case !strings.HasPrefix(to, "+"):
		writeError(w, Failure{HTTPStatus: 400, Code: 21211, Message: "Invalid 'To' Phone Number: " + to})
		return
	case from == "" && f.Get("MessagingServiceSid") == "":
		writeError(w, Failure{HTTPStatus: 400, Code: 21603, Message: "A 'From' phone number is required."})
		return
	case body == "" && len(f["MediaUrl"]) == 0:
		writeError(w, Failure{HTTPStatus: 400, Code: 21602, Message: "Message body is required."})
		return
	case len(utf16.Encode([]rune(body))) > 1600:
		writeError(w, Failure{HTTPStatus: 400, Code: 21617, Message: "The concatenated message body exceeds the 1600 character limit."})
		return
	}
	m := Message{
		Sid:            "SM" + randomHex(16),
		AccountSid:     s.creds.AccountSID,
		From:           from,
		To:             to,
		Body:           body,
		StatusCallback: f.Get("StatusCallback"),
		MediaURLs:      f["MediaUrl"],
		Status:         "queued",
		NumSegments:    Segments(body),
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()

	now := time.Now().UTC().Format(time.RFC1123Z)
	uri := "/2010-04-01/Accounts/" + m.AccountSid + "/Messages/" + m.Sid + ".json"
	resource := map[string]any{
		"account_sid": m.AccountSid, "api_version": "2010-04-01", "body": m.Body,
		"date_created": now, "date_updated": now, "date_sent": nil,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": m.From, "to": m.To, "messaging_service_sid": nil,
		"num_media": strconv.Itoa(len(m.MediaURLs)), "num_segments": strconv.Itoa(m.NumSegments),
		"price": nil, "price_unit": "USD", "sid": m.Sid, "status": m.Status, "uri": uri,
		"subresource_uris": map[string]string{"media": strings.TrimSuffix(uri, ".json") + "/Media.json"},
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(resource)
}

func writeError(w http.ResponseWriter, f Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Code == 0 && f.RawBody != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.HTTPStatus)
		_, _ = w.Write([]byte(f.RawBody))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.HTTPStatus)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": f.Code, "message": f.Message, "status": f.HTTPStatus,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", f.Code),
	})
}

// Segments estimates how many SMS segments Twilio bills body as: 160 GSM-7
// characters alone or 153 per part when concatenated; 70 UTF-16 units
// alone or 67 per part otherwise. Extension-table characters and
// Twilio's smart encoding are ignored; the fake only needs a plausible
// number.
func Segments(body string) int {
	gsm := true
	for _, r := range body {
		if r > 0x7e || (r < 0x20 && r != '\n' && r != '\r') {
			gsm = false
			break
		}
	}
	n, single, multi := len(body), 160, 153
	if !gsm {
		n, single, multi = len(utf16.Encode([]rune(body))), 70, 67
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

// StatusCallback builds the signed callback Twilio posts to the message's
// StatusCallback URL when message sid reaches status (errorCode may be
// empty). It returns the URL to post to, the form and its signature.
func (s *Server) StatusCallback(sid, status, errorCode string) (callbackURL string, form url.Values, signature string, err error) {
	s.mu.Lock()
	var m *Message
	for i := range s.messages {
		if s.messages[i].Sid == sid {
			s.messages[i].Status = status
			m = &s.messages[i]
			break
		}
	}
	s.mu.Unlock()
	if m == nil {
		return "", nil, "", fmt.Errorf("twiliotest: no message %s", sid)
	}
	if m.StatusCallback == "" {
		return "", nil, "", fmt.Errorf("twiliotest: message %s was sent without a StatusCallback", sid)
	}
	form = url.Values{
		"AccountSid": {m.AccountSid}, "ApiVersion": {"2010-04-01"},
		"MessageSid": {m.Sid}, "SmsSid": {m.Sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"From": {m.From}, "To": {m.To},
	}
	if errorCode != "" {
		form.Set("ErrorCode", errorCode)
	}
	return m.StatusCallback, form, twilioapi.Sign(s.creds.AuthToken, m.StatusCallback, form), nil
}

// InboundSMS is the form Twilio posts to a number's messaging webhook when
// from texts body to our number to, with a fresh MessageSid. Media URLs
// turn it into an MMS (content type image/jpeg).
func InboundSMS(accountSID, from, to, body string, mediaURLs ...string) url.Values {
	sid := "SM" + randomHex(16)
	if len(mediaURLs) > 0 {
		sid = "MM" + randomHex(16)
	}
	f := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {strconv.Itoa(len(mediaURLs))},
		"ToCity": {""}, "FromZip": {""}, "SmsSid": {sid}, "FromState": {""}, "SmsStatus": {"received"},
		"FromCity": {""}, "Body": {body}, "FromCountry": {"US"}, "To": {to}, "ToZip": {""},
		"NumSegments": {strconv.Itoa(Segments(body))}, "MessageSid": {sid}, "AccountSid": {accountSID},
		"From": {from}, "ApiVersion": {"2010-04-01"},
	}
	for i, u := range mediaURLs {
		f.Set("MediaUrl"+strconv.Itoa(i), u)
		f.Set("MediaContentType"+strconv.Itoa(i), "image/jpeg")
	}
	return f
}

// Credentials returns fresh test credentials of the shape Twilio issues
// (AC + 32 hex digits, 32 hex digit token).
func Credentials() twilioapi.Credentials {
	return twilioapi.Credentials{AccountSID: "AC" + randomHex(16), AuthToken: randomHex(16)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
