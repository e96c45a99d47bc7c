package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service("g1", nil)
	h.res.set("crm.example", "93.184.216.34")
	e := echo.New()
	admins := 0
	admin := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("X-Role") != "admin" {
				return c.NoContent(http.StatusForbidden)
			}
			admins++
			return next(c)
		}
	}
	s.Register(e.Group("/api/v1"), admin)
	do := func(method, path, body string, role string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Role", role)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	for _, tc := range []struct {
		desc, method, path, body, role string
		want                           int
	}{
		{"agent refused", "GET", "/api/v1/webhooks", "", "agent", 403},
		{"private URL refused", "POST", "/api/v1/webhooks", `{"url":"http://10.0.0.1/hook"}`, "admin", 400},
		{"metadata URL refused", "POST", "/api/v1/webhooks", `{"url":"http://169.254.169.254/"}`, "admin", 400},
		{"unknown event type", "POST", "/api/v1/webhooks", `{"url":"https://crm.example/","events":["nope"]}`, "admin", 400},
		{"unknown field", "POST", "/api/v1/webhooks", `{"url":"https://crm.example/","secret":"mine"}`, "admin", 400},
		{"garbage", "POST", "/api/v1/webhooks", `{"url":`, "admin", 400},
		{"wrong type", "POST", "/api/v1/webhooks", `{"url":["x"]}`, "admin", 400},
		{"too large", "POST", "/api/v1/webhooks", `{"description":"` + strings.Repeat("x", 20000) + `"}`, "admin", 413},
		{"unknown id", "GET", "/api/v1/webhooks/wh_nope", "", "admin", 404},
		{"unknown id replay", "POST", "/api/v1/webhooks/wh_nope/deliveries/evt_1/replay", "", "admin", 404},
		{"replay without since", "POST", "/api/v1/webhooks/wh_nope/replay", `{}`, "admin", 400},
	} {
		if code, body := do(tc.method, tc.path, tc.body, tc.role); code != tc.want {
			t.Errorf("%s: %s %s = %d %v, want %d", tc.desc, tc.method, tc.path, code, body, tc.want)
		}
	}
	code, body := do("POST", "/api/v1/webhooks", `{"url":"https://crm.example/hook","events":["conversation.closed"],"description":"CRM"}`, "admin")
	if code != 201 || !strings.HasPrefix(body["secret"].(string), "whsec_") {
		t.Fatalf("create = %d %v", code, body)
	}
	id := body["id"].(string)
	code, list := do("GET", "/api/v1/webhooks", "", "admin")
	if code != 200 || len(list["endpoints"].([]any)) != 1 {
		t.Fatalf("list = %d %v", code, list)
	}
	if ep := list["endpoints"].([]any)[0].(map[string]any); ep["secret"] != nil {
		t.Errorf("list shows a secret: %v", ep)
	}
	code, rot := do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", `{"overlap_seconds":60}`, "admin")
	if code != 200 || rot["secret"] == body["secret"] || rot["previous_secret_until"] == nil {
		t.Errorf("rotate = %d %v", code, rot)
	}
	if code, upd := do("PATCH", "/api/v1/webhooks/"+id, `{"active":false}`, "admin"); code != 200 || upd["active"] != false {
		t.Errorf("pause = %d %v", code, upd)
	}
	if code, _ := do("DELETE", "/api/v1/webhooks/"+id, "", "admin"); code != 204 {
		t.Errorf("delete = %d", code)
	}
	if code, _ := do("GET", "/api/v1/webhooks/"+id, "", "admin"); code != 404 {
		t.Errorf("deleted endpoint still there: %d", code)
	}
}
