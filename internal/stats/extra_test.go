package stats

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHistoryCarriesExtraSections: another feature's figures (promises)
// join the JSON answer, computed for the period asked; a failing section
// fails the answer rather than leaving it out silently.
func TestHistoryCarriesExtraSections(t *testing.T) {
	t.Parallel()
	now := t0.Add(5 * time.Minute)
	src := &fakeSource{}
	src.append(fixture()...)
	s := newService(t, src, now, nil)
	run(t, s, src)
	var gotFrom, gotTo time.Time
	fail := false
	s.cfg.Extra = map[string]func(context.Context, time.Time, time.Time) (any, error){
		"promises": func(_ context.Context, from, to time.Time) (any, error) {
			gotFrom, gotTo = from, to
			if fail {
				return nil, errors.New("redis down")
			}
			return map[string]int{"kept": 3}, nil
		},
	}
	from, to := t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339)
	w := httptest.NewRecorder()
	s.HistoryHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?interval=1h&from="+from+"&to="+to, nil))
	var body struct {
		Rows     []HistoryRow   `json:"rows"`
		Promises map[string]int `json:"promises"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
		t.Fatalf("%d %s %v", w.Code, w.Body, err)
	}
	if body.Promises["kept"] != 3 || len(body.Rows) == 0 || !gotFrom.Equal(t0) || !gotTo.Equal(t0.Add(time.Hour)) {
		t.Fatalf("promises %v, %d rows, period %v–%v", body.Promises, len(body.Rows), gotFrom, gotTo)
	}
	fail = true
	w = httptest.NewRecorder()
	s.HistoryHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?interval=1h&from="+from+"&to="+to, nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("a failing section answered %d", w.Code)
	}
}
