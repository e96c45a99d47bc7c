package app

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
)

// Business hours set on a queue, read in the workspace time zone, reach the
// chat widget: outside them it says when they open; within them, with no
// agent online, it says nobody is available.
func TestChatAvailabilityFollowsQueueHoursAndAgents(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	tz := "America/Los_Angeles"
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	// Open only tomorrow (local), all day: closed now whatever the hour.
	tomorrow := strings.ToLower(time.Now().In(loc).AddDate(0, 0, 1).Weekday().String()[:3])
	file := filepath.Join(t.TempDir(), "sb.yaml")
	cfg := "time_zone: " + tz + "\nqueues:\n" +
		"  - name: support\n    business_hours:\n      open:\n        - {days: " + tomorrow + ", from: \"00:00\", to: \"24:00\"}\n" +
		"  - name: sales\n"
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, map[string]string{"REDIS_URL": srv.URL(), "SWITCHBOARD_CONFIG": file})
	ask := func(queue string) map[string]string {
		t.Helper()
		res, err := http.Get(base + "/chat/availability?queue=" + queue)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]string
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", queue, res.StatusCode, err)
		}
		return out
	}
	got := ask("support")
	if got["chat"] != "closed" || !strings.HasPrefix(got["opens"], "tomorrow at 00:00 P") {
		t.Errorf("support outside its hours: %v", got)
	}
	if got := ask("sales"); got["chat"] != "away" {
		t.Errorf("sales with nobody online: %v", got)
	}
}
