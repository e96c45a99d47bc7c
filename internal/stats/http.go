package stats

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxHistoryRows bounds one history answer: a day of 1-minute rows for a
// dozen queue/channel pairs fits, a year of them does not.
const maxHistoryRows = 20000

// HistoryRow is one interval of the history API.
type HistoryRow struct {
	Start          time.Time `json:"start"`
	Queue          string    `json:"queue"`
	Channel        string    `json:"channel"`
	Offered        int       `json:"offered"`
	OffersToAgents int       `json:"offers_to_agents"`
	Answered       int       `json:"answered"`
	Abandoned      int       `json:"abandoned"`
	ShortAbandoned int       `json:"short_abandoned"`
	ClosedInQueue  int       `json:"closed_in_queue"`
	ASASeconds     float64   `json:"asa_seconds"`
	ServiceLevel   *float64  `json:"service_level"`
	SLWithAbandons *float64  `json:"service_level_abandons"`
	AbandonRate    *float64  `json:"abandon_rate"`
	AHTSeconds     float64   `json:"aht_seconds"`
	MissedOffers   int       `json:"missed_offers"`
	DeclinedOffers int       `json:"declined_offers"`
}

// HistoryHandler serves GET /api/v1/stats?from=&to=&queue=&interval= as
// JSON, or CSV with Accept: text/csv or format=csv. from and to are RFC
// 3339 times (default: the workspace's local midnight to now); interval is a Go duration or
// seconds, a whole number of minutes (default 15m); intervals are counted
// from local midnight, and whole days (24h, 48h…) are calendar days of the
// workspace's zone. The caller checks the
// role.
//
// report=<name> serves one of Config.Reports instead (report=csat: the
// satisfaction figures), so every figure has one address.
func (s *Service) HistoryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if name := q.Get("report"); name != "" {
			if h, ok := s.cfg.Reports[name]; ok {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "report: unknown report " + strconv.Quote(name)})
			return
		}
		bad := func(msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		}
		now := s.cfg.Now()
		from, to := s.today(now), now
		var err error
		if v := q.Get("from"); v != "" {
			if from, err = time.Parse(time.RFC3339, v); err != nil {
				bad("from: want an RFC 3339 time, e.g. 2026-11-22T08:00:00Z")
				return
			}
		}
		if v := q.Get("to"); v != "" {
			if to, err = time.Parse(time.RFC3339, v); err != nil {
				bad("to: want an RFC 3339 time")
				return
			}
		}
		step := 15 * time.Minute
		if v := q.Get("interval"); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				step = time.Duration(n) * time.Second
			} else if step, err = time.ParseDuration(v); err != nil {
				bad("interval: want a duration such as 15m, or seconds")
				return
			}
		}
		switch {
		case step < time.Minute || step%time.Minute != 0:
			bad("interval: a whole number of minutes, at least 1m")
			return
		case !from.Before(to):
			bad("from must be before to")
			return
		case int64(to.Sub(from)/step) > maxHistoryRows:
			bad("too many intervals: widen interval or narrow from/to")
			return
		}
		rows, err := s.History(r.Context(), from, to, step, q.Get("queue"))
		if err != nil {
			s.cfg.Logger.Error("stats: history", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		out := make([]HistoryRow, 0, len(rows))
		for _, row := range rows {
			f := FiguresOf(row.Counts)
			out = append(out, HistoryRow{Start: row.Start.UTC(), Queue: row.Key.Queue, Channel: row.Key.Channel,
				Offered: f.Offered, OffersToAgents: row.Offered, Answered: f.Answered, Abandoned: f.Abandoned,
				ShortAbandoned: f.ShortAbandoned, ClosedInQueue: f.ClosedInQueue, ASASeconds: float64(f.ASAms) / 1000, ServiceLevel: f.ServiceLevel,
				SLWithAbandons: f.SLWithAbandons, AbandonRate: f.AbandonRate, AHTSeconds: float64(f.AHTms) / 1000,
				MissedOffers: f.MissedOffers, DeclinedOffers: f.DeclinedOffers})
		}
		if q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
			writeCSV(w, out)
			return
		}
		body := map[string]any{"from": from.UTC(), "to": to.UTC(), "interval_seconds": int(step.Seconds()), "rows": out}
		for name, section := range s.cfg.Extra {
			v, err := section(r.Context(), from, to)
			if err != nil {
				s.cfg.Logger.Error("stats: history section", "section", name, "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			body[name] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	})
}

func writeCSV(w http.ResponseWriter, rows []HistoryRow) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="switchboard-stats.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"start", "queue", "channel", "offered", "offers_to_agents", "answered", "abandoned",
		"short_abandoned", "asa_seconds", "service_level", "service_level_abandons", "abandon_rate",
		"aht_seconds", "missed_offers", "declined_offers", "closed_in_queue"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	for _, r := range rows {
		// Queue and channel names come from configuration, but a leading
		// = + - @ would still be a formula to a spreadsheet.
		_ = cw.Write([]string{r.Start.Format(time.RFC3339), cell(r.Queue), cell(r.Channel), strconv.Itoa(r.Offered),
			strconv.Itoa(r.OffersToAgents), strconv.Itoa(r.Answered), strconv.Itoa(r.Abandoned),
			strconv.Itoa(r.ShortAbandoned), num(r.ASASeconds), opt(r.ServiceLevel), opt(r.SLWithAbandons),
			opt(r.AbandonRate), num(r.AHTSeconds), strconv.Itoa(r.MissedOffers), strconv.Itoa(r.DeclinedOffers),
			strconv.Itoa(r.ClosedInQueue)})
	}
	cw.Flush()
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
