package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/retryafter"
)

// pausedRecheck is how often a delivery of a paused endpoint looks again.
const pausedRecheck = 30 * time.Second

// deliverLoop claims due deliveries and sends them, Workers at a time,
// until ctx ends.
func (s *Service) deliverLoop(ctx context.Context) {
	sem := make(chan struct{}, s.p.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		free := cap(sem) - len(sem)
		if free > 0 {
			claimed, err := s.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("webhook: claim deliveries", "err", err)
			}
			for _, c := range claimed {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if err := s.attempt(ctx, c); err != nil && ctx.Err() == nil {
						s.log.Warn("webhook: delivery", "delivery", c.member, "err", err)
					}
				}()
			}
			if len(claimed) == free {
				continue // more may be due
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-s.wake:
		}
	}
}

type claimed struct {
	member, ep, event, token string
}

func (s *Service) claim(ctx context.Context, n int) ([]claimed, error) {
	res, err := scriptClaim.Run(ctx, s.rdb, []string{s.k.due()},
		s.now().UnixMilli(), s.p.Lease.Milliseconds(), n, s.k.prefix()).StringSlice()
	if err != nil {
		return nil, err
	}
	out := make([]claimed, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		ep, evt, ok := strings.Cut(res[i], "|")
		if !ok {
			continue
		}
		out = append(out, claimed{member: res[i], ep: ep, event: evt, token: res[i+1]})
	}
	return out, nil
}

// attempt sends one claimed delivery and records what happened.
func (s *Service) attempt(ctx context.Context, c claimed) error {
	d, err := s.rdb.HGetAll(ctx, s.k.delivery(c.ep, c.event)).Result()
	if err != nil {
		return err
	}
	now := s.now()
	if len(d) == 0 {
		// Expired or never written: nothing to send, take it out of line.
		return s.rdb.ZRem(ctx, s.k.due(), c.member).Err()
	}
	ep, err := s.Endpoint(ctx, c.ep)
	if errors.Is(err, ErrNotFound) {
		return s.finish(ctx, c, d["key"], now, false, "status", "dropped")
	}
	if err != nil {
		return err
	}
	queuedAt := fromMS(d["queued_at"])
	if !ep.Active {
		if !queuedAt.IsZero() && now.Sub(queuedAt) > s.p.RetryFor {
			s.outcome(ep.ID, "dead", 0, 0)
			return s.finish(ctx, c, d["key"], now, true, "status", "dead", "error", "endpoint paused past the retry window")
		}
		return s.retry(ctx, c, now.Add(pausedRecheck), false)
	}
	attempts, _ := strconv.Atoi(d["attempts"])
	attempts++
	status, latency, retryAfter, sendErr := s.send(ctx, ep, c.event, []byte(d["body"]))
	fields := []any{"type", d["type"], "attempts", attempts, "code", status, "latency_ms", latency.Milliseconds(), "last_at", now.UnixMilli()}
	if d["first_at"] == "" {
		fields = append(fields, "first_at", now.UnixMilli())
	}
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	fields = append(fields, "error", errText)
	switch {
	case sendErr == nil && status >= 200 && status < 300:
		s.outcome(ep.ID, "delivered", status, latency)
		if !ep.FailingSince.IsZero() {
			s.rdb.HSet(ctx, s.k.endpoint(ep.ID), "failing_since", "")
			s.forget()
		}
		return s.finish(ctx, c, d["key"], now, true, append(fields, "status", "delivered")...)
	case status == http.StatusGone:
		// The receiver says this endpoint is gone for good: stop sending
		// there until an admin turns it on again.
		s.outcome(ep.ID, "failed", status, latency)
		s.pause(ctx, ep, "the receiver answered 410 Gone")
		return s.finish(ctx, c, d["key"], now, true, append(fields, "status", "failed")...)
	case sendErr == nil && !retryable(status):
		s.outcome(ep.ID, "failed", status, latency)
		return s.finish(ctx, c, d["key"], now, true, append(fields, "status", "failed")...)
	}
	// Worth retrying: a timeout, a refused connection, 408, 429 or 5xx.
	if ep.FailingSince.IsZero() {
		s.rdb.HSet(ctx, s.k.endpoint(ep.ID), "failing_since", now.UnixMilli())
		s.forget()
	} else if now.Sub(ep.FailingSince) > s.p.PauseAfter {
		s.pause(ctx, ep, fmt.Sprintf("failing since %s", ep.FailingSince.Format(time.RFC3339)))
	}
	first := fromMS(d["first_at"])
	if first.IsZero() {
		first = now
	}
	next := now.Add(s.backoff(attempts))
	if retryAfter > 0 {
		next = now.Add(min(retryAfter, s.p.MaxBackoff))
	}
	if next.Sub(first) > s.p.RetryFor {
		s.outcome(ep.ID, "dead", status, latency)
		return s.finish(ctx, c, d["key"], now, true, append(fields, "status", "dead")...)
	}
	s.outcome(ep.ID, "retry", status, latency)
	return s.retry(ctx, c, next, true, append(fields, "status", "retrying", "next_at", next.UnixMilli())...)
}

func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// backoff is the wait before attempt n+1: exponential with full jitter, so
// many deliveries failing together do not return together.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.p.BaseBackoff << min(attempts-1, 20)
	if d <= 0 || d > s.p.MaxBackoff {
		d = s.p.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// send POSTs one signed envelope. It returns the status (0 when no
// response came), the latency, a Retry-After the receiver asked for, and
// the transport error.
func (s *Service) send(ctx context.Context, ep Endpoint, id string, body []byte) (int, time.Duration, time.Duration, error) {
	now := s.now()
	sig, err := Sign(ep.secrets(now), id, now, body)
	if err != nil {
		return 0, 0, 0, err
	}
	ctx = context.WithValue(ctx, allowPrivateKey{}, ep.AllowPrivate)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, time.Since(start), 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, s.p.MaxResponseBytes))
	return resp.StatusCode, time.Since(start), retryAfter(resp.Header.Get("Retry-After"), now), nil
}

// retryAfter reads an endpoint's Retry-After header: whole seconds or an
// HTTP date, at most retryafter.Max; zero for anything else.
func retryAfter(v string, now time.Time) time.Duration { return retryafter.Parse(v, now) }

func (s *Service) pause(ctx context.Context, ep Endpoint, reason string) {
	s.rdb.HSet(ctx, s.k.endpoint(ep.ID), "active", "0", "paused_reason", reason)
	s.forget()
	s.log.Warn("webhook: endpoint paused", "endpoint", ep.ID, "url", ep.URL, "reason", reason)
}

func (s *Service) outcome(ep, result string, status int, latency time.Duration) {
	if s.p.OnOutcome != nil {
		s.p.OnOutcome(Outcome{Endpoint: ep, Result: result, Status: status, Latency: latency})
	}
}

func (s *Service) finish(ctx context.Context, c claimed, key string, now time.Time, log bool, fields ...any) error {
	if key == "" {
		key = "-"
	}
	mode := ""
	if log {
		mode = "log"
	}
	args := append([]any{c.member, c.event, now.UnixMilli(), c.token, int64(deliveryTTL / time.Second), logCap, c.ep, mode}, fields...)
	_, err := scriptFinish.Run(ctx, s.rdb,
		[]string{s.k.delivery(c.ep, c.event), s.k.order(c.ep, key), s.k.due(), s.k.log(c.ep)}, args...).Result()
	return err
}

func (s *Service) retry(ctx context.Context, c claimed, next time.Time, log bool, fields ...any) error {
	mode := ""
	if log {
		mode = "log"
	}
	args := append([]any{c.member, c.token, next.UnixMilli(), logCap, mode, c.event}, fields...)
	_, err := scriptRetry.Run(ctx, s.rdb, []string{s.k.delivery(c.ep, c.event), s.k.due(), s.k.log(c.ep)}, args...).Result()
	return err
}
