package survey

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/hours"
)

// Row is the survey figures of one queue, agent or channel (or of
// everything, Dimension "all") over the days asked for. Surveys count on
// the day they were sent, and so do their ratings, so the response rate
// of a day never exceeds 1.
type Row struct {
	Dimension string `json:"dimension"` // all, queue, agent or channel
	Key       string `json:"key"`       // the queue, agent id or channel; "" for all
	Sent      int    `json:"sent"`
	Responses int    `json:"responses"`
	// Good counts ratings of 4 and 5.
	Good int `json:"good"`
	// Scores[i] counts ratings of i+1.
	Scores [5]int `json:"scores"`
	// CSAT is Good ÷ Responses; null without responses.
	CSAT *float64 `json:"csat"`
	// ResponseRate is Responses ÷ Sent; null when nothing was sent.
	ResponseRate *float64 `json:"response_rate"`
}

var dimNames = map[string]string{"all": "all", "q": "queue", "a": "agent", "c": "channel"}

// Figures folds the daily counters of the local days from..to (inclusive,
// in the workspace zone) into rows: everything first, then per queue,
// agent and channel, each sorted by key.
func (s *Service) Figures(ctx context.Context, from, to time.Time) ([]Row, error) {
	from, to = from.In(s.p.Location), to.In(s.p.Location)
	if to.Before(from) {
		return nil, fmt.Errorf("survey: figures: from after to")
	}
	pipe := s.p.Redis.Pipeline()
	var cmds []interface{ Val() map[string]string }
	last := hours.Day(to, s.p.Location)
	for d := hours.Day(from, s.p.Location); !d.After(last) && len(cmds) < 400; d = hours.NextDay(d, s.p.Location) {
		cmds = append(cmds, pipe.HGetAll(ctx, s.k.fig(d.Format(time.DateOnly))))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("survey: figures: %w", err)
	}
	rows := map[string]*Row{"all|": {Dimension: "all"}}
	for _, c := range cmds {
		for field, v := range c.Val() {
			measure, dim, ok := strings.Cut(field, "|")
			if !ok {
				continue
			}
			kind, key, _ := strings.Cut(dim, "|")
			name, ok := dimNames[kind]
			if !ok {
				continue
			}
			r := rows[dim]
			if r == nil {
				r = &Row{Dimension: name, Key: key}
				rows[dim] = r
			}
			n, _ := strconv.Atoi(v)
			switch measure {
			case "sent":
				r.Sent += n
			case "rated":
				r.Responses += n
			case "good":
				r.Good += n
			case "s1", "s2", "s3", "s4", "s5":
				r.Scores[measure[1]-'1'] += n
			}
		}
	}
	order := map[string]int{"all": 0, "queue": 1, "agent": 2, "channel": 3}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if r.Responses > 0 {
			v := float64(r.Good) / float64(r.Responses)
			r.CSAT = &v
		}
		if r.Sent > 0 {
			v := float64(r.Responses) / float64(r.Sent)
			r.ResponseRate = &v
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dimension != out[j].Dimension {
			return order[out[i].Dimension] < order[out[j].Dimension]
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// FiguresHandler serves the survey figures as JSON ({"from","to","rows"})
// or, with format=csv or Accept: text/csv, as CSV. from and to are dates
// (2026-12-03) or RFC 3339 times; both default to today in the workspace
// zone. The caller checks the role.
func (s *Service) FiguresHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		now := s.p.Now()
		from, to := now, now
		var err error
		if v := q.Get("from"); v != "" {
			if from, err = s.parseDay(v); err != nil {
				badRequest(w, "from: want a date such as 2026-12-03 or an RFC 3339 time")
				return
			}
		}
		if v := q.Get("to"); v != "" {
			if to, err = s.parseDay(v); err != nil {
				badRequest(w, "to: want a date such as 2026-12-03 or an RFC 3339 time")
				return
			}
		}
		if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
			badRequest(w, "from must not be after to, and the range at most a year")
			return
		}
		rows, err := s.Figures(r.Context(), from, to)
		if err != nil {
			http.Error(w, "survey figures unavailable", http.StatusServiceUnavailable)
			return
		}
		if q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
			writeCSV(w, rows)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"from": from.In(s.p.Location).Format(time.DateOnly), "to": to.In(s.p.Location).Format(time.DateOnly), "rows": rows})
	})
}

func (s *Service) parseDay(v string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, v, s.p.Location); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeCSV(w http.ResponseWriter, rows []Row) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"dimension", "key", "sent", "responses", "good", "score_1", "score_2", "score_3", "score_4", "score_5", "csat", "response_rate"})
	for _, r := range rows {
		rec := []string{r.Dimension, r.Key, strconv.Itoa(r.Sent), strconv.Itoa(r.Responses), strconv.Itoa(r.Good)}
		for _, n := range r.Scores {
			rec = append(rec, strconv.Itoa(n))
		}
		rec = append(rec, ratio(r.CSAT), ratio(r.ResponseRate))
		_ = cw.Write(rec)
	}
	cw.Flush()
}

func ratio(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}
