package api

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/roster"
	"github.com/switchboard/switchboard/routing"
)

// The OpenAPI file lists exactly the routes Register and the roster's
// handler add, so the document cannot drift from the code.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	f := newFixture(t)
	// The agents routes are the roster's; the document describes them too.
	rdb := server.NewClient(t)
	authSvc, err := auth.New(auth.Config{Redis: rdb, Workspace: "openapi", BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := routing.New(routing.Params{Client: rdb, Workspace: "openapi"})
	if err != nil {
		t.Fatal(err)
	}
	roster.NewHandler(roster.New(authSvc, engine), authSvc, nil).Register(f.e.Group("/api/v1"))
	// GET /stats is the stats service's, added by the wiring next to the
	// supervisor view (internal/app/supervisor.go); the document has it.
	f.e.GET("/api/v1/stats", func(echo.Context) error { return nil })
	param := regexp.MustCompile(`:([a-z]+)`)
	var served []string
	for _, r := range f.e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		p := param.ReplaceAllString(strings.TrimPrefix(r.Path, "/api/v1"), "{$1}")
		p = strings.Replace(p, "/*", "/{path}", 1)
		served = append(served, r.Method+" "+p)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("documented:\n%s\n\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}
