package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned for an unknown endpoint or delivery id.
var ErrNotFound = errors.New("webhook: not found")

// ErrInvalid is returned for a malformed endpoint (unknown event type…).
var ErrInvalid = errors.New("webhook: invalid")

// Endpoint is one registered receiver.
type Endpoint struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	// Events lists the event types sent; empty means all of Types.
	Events []string `json:"events"`
	// Active is false while an admin paused it or after it failed for too
	// long; deliveries wait (and their 24 h retry window still runs).
	Active bool `json:"active"`
	// PausedReason says why it is not active, when the service paused it.
	PausedReason string `json:"paused_reason,omitempty"`
	// AllowPrivate lets the URL name loopback or private addresses (a
	// receiver inside the same network). Off by default: SSRF.
	AllowPrivate bool `json:"allow_private"`
	// FailingSince is the first failure of the current run of failures.
	FailingSince time.Time `json:"failing_since,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
	// PreviousSecretUntil is when the secret replaced by the last rotation
	// stops being used to sign.
	PreviousSecretUntil time.Time `json:"previous_secret_until,omitzero"`

	secret, previousSecret string
}

// wants reports whether the endpoint subscribed to typ.
func (e Endpoint) wants(typ string) bool {
	return typ == TypePing || len(e.Events) == 0 || slices.Contains(e.Events, typ)
}

// secrets are the secrets that sign a delivery now.
func (e Endpoint) secrets(now time.Time) []string {
	s := []string{e.secret}
	if e.previousSecret != "" && now.Before(e.PreviousSecretUntil) {
		s = append(s, e.previousSecret)
	}
	return s
}

// EndpointInput is what an admin sets when creating or changing an
// endpoint. Nil fields are left as they are on update.
type EndpointInput struct {
	URL          *string   `json:"url"`
	Description  *string   `json:"description"`
	Events       *[]string `json:"events"`
	Active       *bool     `json:"active"`
	AllowPrivate *bool     `json:"allow_private"`
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Service) validate(ctx context.Context, in EndpointInput, cur Endpoint) (Endpoint, error) {
	if in.URL != nil {
		cur.URL = strings.TrimSpace(*in.URL)
	}
	if in.Description != nil {
		cur.Description = strings.TrimSpace(*in.Description)
	}
	if in.AllowPrivate != nil {
		cur.AllowPrivate = *in.AllowPrivate
	}
	if in.Active != nil {
		cur.Active = *in.Active
		if cur.Active {
			cur.PausedReason, cur.FailingSince = "", time.Time{}
		}
	}
	if in.Events != nil {
		cur.Events = nil
		for _, t := range *in.Events {
			if !slices.Contains(Types, t) {
				return Endpoint{}, fmt.Errorf("%w: events: unknown event type %q", ErrInvalid, t)
			}
			if !slices.Contains(cur.Events, t) {
				cur.Events = append(cur.Events, t)
			}
		}
	}
	if len(cur.Description) > 500 {
		return Endpoint{}, fmt.Errorf("%w: description: longer than 500 characters", ErrInvalid)
	}
	if _, err := checkURL(ctx, cur.URL, cur.AllowPrivate, s.resolver); err != nil {
		return Endpoint{}, err
	}
	return cur, nil
}

// Create registers an endpoint and returns it with its signing secret,
// which is shown this once.
func (s *Service) Create(ctx context.Context, in EndpointInput) (Endpoint, string, error) {
	if in.URL == nil {
		return Endpoint{}, "", fmt.Errorf("%w: url is required", ErrInvalid)
	}
	ep, err := s.validate(ctx, in, Endpoint{Active: true})
	if err != nil {
		return Endpoint{}, "", err
	}
	if in.Active == nil {
		ep.Active = true
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	ep.ID, ep.CreatedAt, ep.secret = newID("wh_"), s.now().UTC(), secret
	if err := s.save(ctx, ep); err != nil {
		return Endpoint{}, "", err
	}
	if err := s.rdb.SAdd(ctx, s.k.endpoints(), ep.ID).Err(); err != nil {
		return Endpoint{}, "", fmt.Errorf("webhook: register %s: %w", ep.ID, err)
	}
	s.forget()
	return ep, secret, nil
}

// Update changes an endpoint.
func (s *Service) Update(ctx context.Context, id string, in EndpointInput) (Endpoint, error) {
	cur, err := s.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	ep, err := s.validate(ctx, in, cur)
	if err != nil {
		return Endpoint{}, err
	}
	if err := s.save(ctx, ep); err != nil {
		return Endpoint{}, err
	}
	s.forget()
	return ep, nil
}

// Delete removes an endpoint; its queued deliveries are dropped as workers
// meet them.
func (s *Service) Delete(ctx context.Context, id string) error {
	n, err := s.rdb.SRem(ctx, s.k.endpoints(), id).Result()
	if err != nil {
		return fmt.Errorf("webhook: delete %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("webhook: endpoint %s: %w", id, ErrNotFound)
	}
	s.rdb.Del(ctx, s.k.endpoint(id))
	s.forget()
	return nil
}

// RotateSecret gives the endpoint a new secret and keeps signing with the
// old one as well for overlap, so receivers can switch without losing a
// delivery. It returns the new secret, shown this once.
func (s *Service) RotateSecret(ctx context.Context, id string, overlap time.Duration) (Endpoint, string, error) {
	ep, err := s.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	ep.previousSecret, ep.secret = ep.secret, secret
	ep.PreviousSecretUntil = s.now().Add(overlap).UTC()
	if err := s.save(ctx, ep); err != nil {
		return Endpoint{}, "", err
	}
	s.forget()
	return ep, secret, nil
}

func (s *Service) save(ctx context.Context, ep Endpoint) error {
	err := s.rdb.HSet(ctx, s.k.endpoint(ep.ID),
		"url", ep.URL, "description", ep.Description, "events", strings.Join(ep.Events, ","),
		"active", flag(ep.Active), "allow_private", flag(ep.AllowPrivate), "paused_reason", ep.PausedReason,
		"failing_since", msOrEmpty(ep.FailingSince), "created_at", msOrEmpty(ep.CreatedAt),
		"secret", ep.secret, "prev_secret", ep.previousSecret, "prev_secret_until", msOrEmpty(ep.PreviousSecretUntil),
	).Err()
	if err != nil {
		return fmt.Errorf("webhook: save %s: %w", ep.ID, err)
	}
	return nil
}

// Endpoint returns one endpoint.
func (s *Service) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	h, err := s.rdb.HGetAll(ctx, s.k.endpoint(id)).Result()
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook: endpoint %s: %w", id, err)
	}
	if len(h) == 0 || h["url"] == "" {
		return Endpoint{}, fmt.Errorf("webhook: endpoint %s: %w", id, ErrNotFound)
	}
	return endpointFrom(id, h), nil
}

// Endpoints lists every endpoint, oldest first.
func (s *Service) Endpoints(ctx context.Context) ([]Endpoint, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.endpoints()).Result()
	if err != nil {
		return nil, fmt.Errorf("webhook: list endpoints: %w", err)
	}
	out := make([]Endpoint, 0, len(ids))
	for _, id := range ids {
		ep, err := s.Endpoint(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func endpointFrom(id string, h map[string]string) Endpoint {
	ep := Endpoint{
		ID: id, URL: h["url"], Description: h["description"], Active: h["active"] == "1",
		AllowPrivate: h["allow_private"] == "1", PausedReason: h["paused_reason"],
		FailingSince: fromMS(h["failing_since"]), CreatedAt: fromMS(h["created_at"]),
		PreviousSecretUntil: fromMS(h["prev_secret_until"]),
		secret:              h["secret"], previousSecret: h["prev_secret"],
	}
	if h["events"] != "" {
		ep.Events = strings.Split(h["events"], ",")
	}
	return ep
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func msOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
