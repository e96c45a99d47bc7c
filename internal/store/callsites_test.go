package store_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/store"
)

// The count names the functions that made each round trip and tells a
// pipeline from a command; off, nothing is counted.
func TestCallSitesNameWhoMadeEachRoundTrip(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	s, err := store.Open(store.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			readTheFlag(ctx, t, s)
			writeTwoInOne(ctx, t, s)
		}
	})
	sites := s.CallSites.Count(ctx, 300*time.Millisecond)
	close(stop)
	wg.Wait()

	find := func(prefix, fn string) int64 {
		for _, c := range sites {
			if strings.HasPrefix(c.Site, prefix) && strings.Contains(c.Site, fn) {
				return c.Calls
			}
		}
		return 0
	}
	if n := find("get | ", "store_test.readTheFlag < store_test.TestCallSitesNameWhoMadeEachRoundTrip"); n == 0 {
		t.Fatalf("no GET counted for readTheFlag: %+v", sites)
	}
	if n := find("pipeline[set, incr] | ", "store_test.writeTwoInOne"); n == 0 {
		t.Fatalf("no pipeline counted for writeTwoInOne: %+v", sites)
	}

	// Counting is off between counts: a call now is in no later count.
	readTheFlag(ctx, t, s)
	if again := s.CallSites.Count(ctx, time.Millisecond); len(again) != 0 {
		t.Fatalf("counted with nothing running: %+v", again)
	}

	// The handler answers text and refuses a bad duration.
	h := httptest.NewServer(s.CallSites)
	defer h.Close()
	resp, err := http.Get(h.URL + "?seconds=0.05")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "# Redis round trips by call site") {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
	for _, bad := range []string{"-1", "0", "NaN", "Inf", "1e-12", "120", "soon"} {
		resp, err = http.Get(h.URL + "?seconds=" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("seconds=%s answered %d, want 400", bad, resp.StatusCode)
		}
	}
}

func readTheFlag(ctx context.Context, t *testing.T, s *store.Store) {
	if err := s.Client.Get(ctx, "flag").Err(); err != nil && err.Error() != "redis: nil" {
		t.Error(err)
	}
}

func writeTwoInOne(ctx context.Context, t *testing.T, s *store.Store) {
	pipe := s.Client.Pipeline()
	pipe.Set(ctx, "flag", "1", 0)
	pipe.Incr(ctx, "n")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Error(err)
	}
}
