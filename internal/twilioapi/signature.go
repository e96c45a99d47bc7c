package twilioapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/client"
)

// SignatureHeader is the header Twilio signs its webhooks with.
const SignatureHeader = "X-Twilio-Signature"

// Errors Verify returns; handlers answer both with 403.
var (
	ErrMissingSignature = errors.New("twilioapi: no X-Twilio-Signature header")
	ErrBadSignature     = errors.New("twilioapi: X-Twilio-Signature does not match the request")
)

// ErrBodyTooLarge is returned by ReadBody when the body exceeds its limit.
var ErrBodyTooLarge = errors.New("twilioapi: request body over the limit")

// ValidatorOptions configure a Validator.
type ValidatorOptions struct {
	// AuthToken is the key Twilio signs with. Required. Secret.
	AuthToken string
	// PublicURL is the base URL Twilio calls, as configured in the Twilio
	// console, e.g. https://support.example.com or
	// https://example.com/switchboard. Required.
	PublicURL string
	// TrustProxy makes the scheme and host come from X-Forwarded-Proto and
	// X-Forwarded-Host when present. Off by default because anyone can send
	// those headers; turn it on only behind a proxy that sets them.
	TrustProxy bool
	// Logger receives one warning per rejected webhook, naming the URL the
	// signature was checked against (the usual culprit is a public URL that
	// differs from the one configured at Twilio). Nil means slog.Default().
	Logger *slog.Logger
}

// Validator checks X-Twilio-Signature with twilio-go's request validator
// against the public URL Twilio called.
type Validator struct {
	rv         client.RequestValidator
	scheme     string
	host       string
	prefix     string
	trustProxy bool
	log        *slog.Logger
}

// NewValidator checks the options and builds a Validator.
func NewValidator(o ValidatorOptions) (*Validator, error) {
	if o.AuthToken == "" {
		return nil, errors.New("twilioapi: validator: no auth token")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("twilioapi: validator: public URL %q is not an absolute http(s) URL", o.PublicURL)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Validator{
		rv:         client.NewRequestValidator(o.AuthToken),
		scheme:     u.Scheme,
		host:       u.Host,
		prefix:     strings.TrimSuffix(u.EscapedPath(), "/"),
		trustProxy: o.TrustProxy,
		log:        o.Logger,
	}, nil
}

// URL is the URL Twilio called to make r: the public base URL's scheme and
// host (or the forwarded ones, when the proxy is trusted), the base URL's
// path prefix unless the request path already carries it, then the request
// path and query exactly as received.
func (v *Validator) URL(r *http.Request) string {
	scheme, host := v.scheme, v.host
	if v.trustProxy {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && !strings.ContainsAny(h, "/?#@ ") {
			host = h
		}
	}
	uri := r.URL.RequestURI()
	if v.prefix != "" && !strings.HasPrefix(uri, v.prefix+"/") {
		uri = v.prefix + uri
	}
	return scheme + "://" + host + uri
}

// Verify checks r's signature over body (the raw form body Twilio posted).
func (v *Validator) Verify(r *http.Request, body []byte) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return ErrMissingSignature
	}
	if !v.rv.ValidateBody(v.URL(r), body, sig) {
		return ErrBadSignature
	}
	return nil
}

// Middleware reads the body (at most limit bytes: 413 beyond), verifies
// the signature (403 when missing or wrong) and hands the next handler the
// same body again, so it can parse the form as usual. Twilio is told
// nothing more than the status: its debugger shows the code, our log the
// reason.
func (v *Validator) Middleware(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			body, err := ReadBody(r, limit)
			if errors.Is(err, ErrBodyTooLarge) {
				v.log.Warn("twilio webhook rejected: body over the limit", "path", r.URL.Path, "limit", limit)
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
			}
			if err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "unreadable request body")
			}
			if err := v.Verify(r, body); err != nil {
				v.log.Warn("twilio webhook rejected", "path", r.URL.Path, "reason", err.Error(),
					"checked_url", v.URL(r), "remote", r.RemoteAddr)
				return echo.NewHTTPError(http.StatusForbidden, "invalid Twilio signature")
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			return next(c)
		}
	}
}

// ReadBody reads r's body up to limit bytes and returns ErrBodyTooLarge
// beyond that, without reading further than limit+1 bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("twilioapi: read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, ErrBodyTooLarge
	}
	return body, nil
}

// Sign computes the X-Twilio-Signature Twilio would send for a form POST
// to url: base64(HMAC-SHA1(token, url + name+value of each parameter,
// sorted by name)). Like twilio-go's validator it uses the first value of
// a repeated name. It exists for tests and local tools; Twilio never needs
// it.
func Sign(token, url string, form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(url)
	for _, k := range names {
		b.WriteString(k)
		if len(form[k]) > 0 {
			b.WriteString(form[k][0])
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func firstValue(h string) string {
	if i := strings.IndexByte(h, ','); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSpace(h)
}
