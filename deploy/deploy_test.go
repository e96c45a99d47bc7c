package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/httpserver"
	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/survey"
)

// makeVar reads "NAME ?= value" or "NAME := value" from the Makefile.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `\s*[?:]?=\s*(.+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile sets no %s", name)
	}
	return strings.TrimSpace(string(m[1]))
}

func TestDockerfileBuildsWhatMakeBuilds(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	flags := makeVar(t, "BUILD_FLAGS")
	mk, _ := os.ReadFile("../Makefile")
	if !strings.Contains(string(mk), "CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o switchboard ./cmd/switchboard") {
		t.Error("make build does not build with $(BUILD_FLAGS) and CGO_ENABLED=0")
	}
	if !strings.Contains(df, "CGO_ENABLED=0 go build "+flags+" -o /out/switchboard ./cmd/switchboard") {
		t.Errorf("the Dockerfile's go build differs from make build's flags %q", flags)
	}
	var froms []string
	var user string
	for _, line := range strings.Split(df, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "FROM" {
			froms = append(froms, f[1])
		}
		if len(f) >= 2 && f[0] == "USER" {
			user = f[1]
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM lines %v: want a build stage and a runtime stage", froms)
	}
	if rt := froms[len(froms)-1]; !strings.HasPrefix(rt, "gcr.io/distroless/static") || !strings.HasSuffix(rt, ":nonroot") {
		t.Errorf("runtime stage %s: want distroless static (CA certificates and time zones) as nonroot", rt)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: want a non-root user", user)
	}
}

func TestComposeRunsTheImageWithAGraceLongerThanTheDrain(t *testing.T) {
	t.Parallel()
	image := makeVar(t, "IMAGE")
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image           string            `yaml:"image"`
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
			Build           map[string]string `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	n := 0
	for name, s := range c.Services {
		if !strings.HasPrefix(name, "gateway") {
			continue
		}
		n++
		if s.Image != image || s.Build["dockerfile"] != "deploy/Dockerfile" {
			t.Errorf("%s runs %q built from %q; want %s from deploy/Dockerfile", name, s.Image, s.Build["dockerfile"], image)
		}
		graceLongerThanDrain(t, name, s.StopGracePeriod, s.Environment["SWITCHBOARD_SHUTDOWN_TIMEOUT"])
	}
	if n < 2 {
		t.Errorf("%d gateways in compose; want two behind one Redis", n)
	}
}

func graceLongerThanDrain(t *testing.T, what, grace, drain string) {
	t.Helper()
	if drain == "" {
		drain = "10s" // the flag's default
	}
	g, err1 := time.ParseDuration(grace)
	d, err2 := time.ParseDuration(drain)
	if err := errors.Join(err1, err2); err != nil || g <= d {
		t.Errorf("%s: grace %q, drain %q (%v): the grace period must be longer than the drain", what, grace, drain, err)
	}
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

type container struct {
	Image string `yaml:"image"`
	Env   []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
}

func TestKubernetesManifestRunsTheImageSafely(t *testing.T) {
	t.Parallel()
	image := makeVar(t, "IMAGE")
	b, err := os.ReadFile("kubernetes/switchboard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubernetes/switchboard.yaml: %v", err)
		}
		kind, _ := doc["kind"].(string)
		if kind == "" || doc["apiVersion"] == nil {
			t.Fatalf("a document without kind or apiVersion: %v", doc)
		}
		kinds[kind] = doc
	}
	for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget"} {
		if kinds[k] == nil {
			t.Fatalf("no %s", k)
		}
	}
	// Re-decode the Deployment into the fields we check.
	var dep struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
					SecurityContext               struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	remarshal(t, kinds["Deployment"], &dep)
	ps := dep.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	c := ps.Containers[0]
	if c.Image != image {
		t.Errorf("image %q; want %s (make image)", c.Image, image)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("no readiness probe on /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("no liveness probe on /healthz")
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
		t.Error("no cpu and memory requests")
	}
	if !ps.SecurityContext.RunAsNonRoot {
		t.Error("pods may run as root")
	}
	drain := ""
	for _, e := range c.Env {
		if e.Name == "SWITCHBOARD_SHUTDOWN_TIMEOUT" {
			drain = e.Value
		}
	}
	graceLongerThanDrain(t, "Deployment", (time.Duration(ps.TerminationGracePeriodSeconds) * time.Second).String(), drain)
	labels := dep.Spec.Template.Metadata.Labels
	for _, sel := range []map[string]string{dep.Spec.Selector.MatchLabels, selector(t, kinds["Service"], "spec", "selector"),
		selector(t, kinds["PodDisruptionBudget"], "spec", "selector", "matchLabels")} {
		if len(sel) == 0 {
			t.Error("an empty selector")
		}
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("selector %v does not select the pods (labels %v)", sel, labels)
			}
		}
	}
}

func remarshal(t *testing.T, in any, out any) {
	t.Helper()
	b, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

func selector(t *testing.T, doc map[string]any, path ...string) map[string]string {
	t.Helper()
	var cur any = doc
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	out := map[string]string{}
	m, _ := cur.(map[string]any)
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// exported lists the metric names a gateway serves: the stats collector's,
// the HTTP server's and the Redis client's.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"up": true}
	descs := make(chan *prometheus.Desc, 100)
	stats.NewMetrics().Describe(descs)
	survey.NewMetrics().Describe(descs)
	recovery.NewMetrics().Describe(descs)
	close(descs)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	reg := prometheus.NewRegistry()
	srv, err := httpserver.New(httpserver.Params{Registry: reg, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Echo.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	st, err := store.Open(store.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

var seriesName = regexp.MustCompile(`\b(switchboard_[a-z_]+|up)\b`)

func checkSeries(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	found := false
	for _, n := range seriesName.FindAllString(expr, -1) {
		found = true
		base := n
		for _, suf := range []string{"_bucket", "_count", "_sum"} {
			if known[strings.TrimSuffix(n, suf)] {
				base = strings.TrimSuffix(n, suf)
			}
		}
		if !known[base] {
			t.Errorf("%s queries %s, which no gateway exports", where, n)
		}
	}
	if !found {
		t.Errorf("%s queries no Switchboard series: %s", where, expr)
	}
}

func TestAlertRulesQueryExportedSeries(t *testing.T) {
	t.Parallel()
	known := exported(t)
	b, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if _, err := time.ParseDuration(r.For); err != nil || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: needs for, severity and summary", r.Alert)
			}
			checkSeries(t, r.Alert, r.Expr, known)
		}
	}
	// The four: service level, longest wait, consumer lag, readiness.
	for _, a := range []string{"SwitchboardServiceLevelBelowTarget", "SwitchboardLongestWaitOverLimit",
		"SwitchboardEventConsumerLag", "SwitchboardGatewayNotReady"} {
		if !alerts[a] {
			t.Errorf("no %s alert", a)
		}
	}
}

func TestDashboardQueriesExportedSeries(t *testing.T) {
	t.Parallel()
	known := exported(t)
	b, err := os.ReadFile("grafana/switchboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	uses := map[string]bool{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			checkSeries(t, p.Title, tg.Expr, known)
			for _, n := range seriesName.FindAllString(tg.Expr, -1) {
				uses[n] = true
			}
		}
	}
	for _, n := range []string{"switchboard_contacts_offered_total", "switchboard_contacts_answered_total",
		"switchboard_contacts_abandoned_total", "switchboard_offer_wait_seconds_bucket", "switchboard_handle_seconds_bucket",
		"switchboard_survey_ratings_total", "switchboard_surveys_sent_total", "switchboard_recovery_cases_total", "switchboard_recovery_ratings_total"} {
		if !uses[n] {
			t.Errorf("the dashboard does not chart %s", n)
		}
	}
}
