package twilioapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/retryafter"
	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
)

// DefaultTimeout bounds one REST call when the caller gives no http.Client.
// twilio-go's calls take no context, so this is the only bound there is.
const DefaultTimeout = 10 * time.Second

// ClientOptions configure NewRestClient.
type ClientOptions struct {
	// Credentials authenticate every call. Required.
	Credentials Credentials
	// BaseURL (TWILIO_API_BASE_URL) sends every call to a Twilio-compatible
	// mock instead of Twilio, e.g. http://127.0.0.1:4010. Empty means
	// Twilio's own hosts. A path in it is put in front of the API path.
	BaseURL string
	// HTTPClient carries the calls. Nil means a client with DefaultTimeout.
	// It is copied, never changed.
	HTTPClient *http.Client
}

// NewRestClient builds a twilio-go REST client. twilio-go keeps its base URL
// private, so BaseURL works by wrapping the transport with one that rewrites
// scheme and host of every request.
func NewRestClient(o ClientOptions) (*twilio.RestClient, error) {
	if err := o.Credentials.Validate(); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: DefaultTimeout}
	if o.HTTPClient != nil {
		copied := *o.HTTPClient
		hc = &copied
	}
	if hc.CheckRedirect == nil {
		// As twilio-go's own default: a redirect is an answer, not a hop.
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	rt := hc.Transport
	if rt == nil {
		rt = newTransport()
	}
	rt = errorBodyTransport{next: rt}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("twilioapi: base URL %q is not an absolute http(s) URL", o.BaseURL)
		}
		rt = rewriteTransport{next: rt, scheme: u.Scheme, host: u.Host, prefix: strings.TrimSuffix(u.Path, "/")}
	}
	hc.Transport = rt

	c := &client.Client{
		Credentials: client.NewCredentials(o.Credentials.AccountSID, o.Credentials.AuthToken),
		HTTPClient:  hc,
	}
	c.SetAccountSid(o.Credentials.AccountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}), nil
}

// idleConnsPerHost is how many idle connections to Twilio a client keeps.
// Every call goes to one host, and a gateway sends many at once (each SMS
// acknowledged, each reply): with net/http's default of 2, nearly every
// call under load dialed (and, against Twilio, TLS-handshook) afresh.
const idleConnsPerHost = 64

// newTransport is net/http's default transport keeping idleConnsPerHost
// connections alive.
func newTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, idleConnsPerHost)
	return t
}

// rewriteTransport sends every request to one scheme and host, keeping the
// path (behind an optional prefix) and query.
type rewriteTransport struct {
	next                 http.RoundTripper
	scheme, host, prefix string
}

func (t rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.scheme, t.host, ""
	r.URL.Path = t.prefix + r.URL.Path
	if r.URL.RawPath != "" {
		r.URL.RawPath = t.prefix + r.URL.RawPath
	}
	return t.next.RoundTrip(r)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorBodyTransport makes every error answer a Twilio-shaped JSON body
// whose status is the HTTP status. twilio-go decodes error answers into
// TwilioRestError and, when the body is not JSON (a proxy's 502 page), only
// reports a decoding error that hides the status; the status is what
// decides whether a call is worth retrying. twilio-go keeps no response
// headers either, so a 429's Retry-After travels in the body's details
// (retryAfterDetail).
type errorBodyTransport struct{ next http.RoundTripper }

type restErrorBody struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info,omitempty"`
	Status   int    `json:"status"`
	// Details holds only what this transport puts there: a body's own
	// details are dropped, so nothing Twilio or a proxy sends can pose
	// as a Retry-After.
	Details map[string]any `json:"details,omitempty"`
}

func (t errorBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	var b restErrorBody
	if json.Unmarshal(raw, &b) != nil || (b.Code == 0 && b.Message == "") {
		b = restErrorBody{Message: "HTTP " + resp.Status + " without a Twilio error body"}
	}
	b.Status = resp.StatusCode
	b.Details = nil
	if resp.StatusCode == http.StatusTooManyRequests {
		if d := retryAfter(resp.Header, time.Now()); d >= time.Millisecond {
			b.Details = map[string]any{retryAfterDetail: d.Milliseconds()}
		}
	}
	out, _ := json.Marshal(b)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// Failure is a failed REST call, explained, with the credentials removed
// from every text.
type Failure struct {
	// Status is the HTTP status; 0 when no answer arrived.
	Status int
	// Code is Twilio's error code (e.g. 21211 invalid To number); 0 when
	// Twilio gave none.
	Code int
	// Message is Twilio's explanation or the transport's.
	Message string
	// MoreInfo is Twilio's documentation link for Code, if any.
	MoreInfo string
	// Temporary is set when retrying may succeed: no answer (connection
	// refused, reset, timeout), 429 or 5xx.
	Temporary bool
	// Busy is set for 429: Twilio turned the request away for an account's
	// rate or concurrency limit before acting on it, so it may be tried
	// again, later, without any risk of doing it twice.
	Busy bool
	// RetryAfter is how long Twilio asked us to wait before trying again,
	// in a 429's Retry-After header (seconds or a date); at most a day.
	// Zero when it did not say, or said nonsense.
	RetryAfter time.Duration
}

func (f *Failure) Error() string {
	if f.Status == 0 {
		return "twilio: " + f.Message
	}
	s := fmt.Sprintf("twilio: HTTP %d, error %d: %s", f.Status, f.Code, f.Message)
	if f.RetryAfter > 0 {
		s += fmt.Sprintf(" (Twilio asks to retry after %s)", f.RetryAfter)
	}
	return s
}

// Explain turns an error from a twilio-go call into a Failure whose texts
// do not contain c's account SID or auth token.
func (c Credentials) Explain(err error) *Failure {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		return &Failure{
			Status:     rest.Status,
			Code:       rest.Code,
			Message:    c.Scrub(rest.Message),
			MoreInfo:   rest.MoreInfo,
			Temporary:  rest.Status == http.StatusTooManyRequests || rest.Status >= 500,
			Busy:       rest.Status == http.StatusTooManyRequests,
			RetryAfter: retryAfterOf(rest),
		}
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		return &Failure{
			Status:    v1.HttpStatusCode,
			Code:      v1.Code,
			Message:   c.Scrub(v1.Message),
			Temporary: v1.HttpStatusCode == http.StatusTooManyRequests || v1.HttpStatusCode >= 500,
			Busy:      v1.HttpStatusCode == http.StatusTooManyRequests,
		}
	}
	var uerr *url.Error
	var nerr net.Error
	if errors.As(err, &uerr) || errors.As(err, &nerr) {
		// No answer: the request may or may not have reached Twilio.
		return &Failure{Message: c.Scrub(err.Error()), Temporary: true}
	}
	// An answer that claimed success but could not be read: retrying could
	// send the message twice, so it is not temporary.
	return &Failure{Message: "unreadable answer: " + c.Scrub(err.Error())}
}

// retryAfterOf is the wait errorBodyTransport found in a 429's
// Retry-After header, or zero. JSON numbers arrive as float64.
func retryAfterOf(e *client.TwilioRestError) time.Duration {
	ms, ok := e.Details[retryAfterDetail].(float64)
	if e.Status != http.StatusTooManyRequests || !ok || ms < 1 || ms > float64(retryafter.Max/time.Millisecond) {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
